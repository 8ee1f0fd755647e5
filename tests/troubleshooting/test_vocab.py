from authsim import vocab as authsim_vocab
from enrollment.enums import AuthReason
from troubleshooting import vocab


def test_vocabularies_match_the_simulator():
    assert vocab.OUTCOMES == authsim_vocab.OUTCOMES
    assert vocab.ROOT_CAUSES == authsim_vocab.ROOT_CAUSES
    assert vocab.CALLER_ACTIONS == authsim_vocab.CALLER_ACTIONS
    assert vocab.COMPLAINTS == authsim_vocab.COMPLAINTS


def test_resolved_and_escalation_outcomes_are_in_the_vocabulary():
    assert vocab.RESOLVED_OUTCOMES <= set(vocab.OUTCOMES)
    assert vocab.ESCALATION_OUTCOMES <= set(vocab.OUTCOMES)
    assert not vocab.RESOLVED_OUTCOMES & vocab.ESCALATION_OUTCOMES


def test_verify_outcomes_cover_the_attempt_results():
    assert set(vocab.VERIFY_OUTCOMES) == {"success", "denied", "fraud", "error", "timeout"}
    assert "user_approved" in AuthReason.values
