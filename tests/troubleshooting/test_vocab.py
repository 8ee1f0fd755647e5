from authsim import vocab as authsim_vocab
from enrollment import vocab as shared
from enrollment.enums import AuthReason
from helpdesk.enums import Category, Outcome, RootCause
from troubleshooting import vocab


def test_the_simulator_and_the_engine_share_one_vocabulary():
    assert vocab.ROOT_CAUSES is authsim_vocab.ROOT_CAUSES is shared.ROOT_CAUSES
    assert vocab.OUTCOMES is authsim_vocab.OUTCOMES is shared.OUTCOMES


def test_ticket_choices_match_the_case_vocabulary():
    # The ticket stores outcomes and root causes as database choices with labels.
    assert list(Outcome.values) == list(shared.OUTCOMES)
    assert list(RootCause.values) == list(shared.ROOT_CAUSES)
    assert set(Category.values) == {*shared.COMPLAINTS, "other"}


def test_resolved_and_escalation_outcomes_are_in_the_vocabulary():
    assert vocab.RESOLVED_OUTCOMES <= set(vocab.OUTCOMES)
    assert vocab.ESCALATION_OUTCOMES <= set(vocab.OUTCOMES)
    assert not vocab.RESOLVED_OUTCOMES & vocab.ESCALATION_OUTCOMES


def test_verify_outcomes_cover_the_attempt_results():
    assert set(vocab.VERIFY_OUTCOMES) == {"success", "denied", "fraud", "error", "timeout"}
    assert "user_approved" in AuthReason.values
