"""One rule for every reason a person gives: it must say something in words."""

import pytest

from enrollment.services import bypass_code_issue
from enrollment.services.guards import RecoveryRefused
from helpdesk.reasons import PROBLEM, is_meaningful_reason
from tests.enrollment.recovery_helpers import desk_fixture, verify_caller  # noqa: F401


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ".",
        "...",
        "\u200b",
        "\u200b\u200b\u200b\u200b",
        "\u2060 \ufeff",
        "!?!?",
        "ok",
        "--",
    ],
)
def test_whitespace_punctuation_invisible_characters_or_two_letters_are_not_a_reason(text):
    assert is_meaningful_reason(text) is False


@pytest.mark.parametrize("text", ["Caller verified", "VPN", "Lösung", "忘れた", "123"])
def test_words_in_any_script_are(text):
    assert is_meaningful_reason(text) is True


def test_an_invisible_reason_is_refused_for_a_recovery_action_with_an_event(desk):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason="\u200b.")

    assert (refused.value.guard, str(refused.value)) == ("reason", PROBLEM)
    payload = desk.last_event().payload
    assert (payload["outcome"], {g["name"]: g["passed"] for g in payload["guards"]}["reason"]) == (
        "refused",
        False,
    )
