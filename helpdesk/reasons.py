"""The one rule for a reason a person gives (recovery actions, approvals and their
decisions, escalations, bulk jobs): it must say something.

A reason is kept on an append-only trail for years and read by someone reviewing what was
done and why, so whitespace, punctuation, symbols or invisible characters (zero-width
spaces, format and control characters) alone do not count: at least MIN_MEANINGFUL letters
or digits must remain.
"""

import unicodedata

MIN_MEANINGFUL = 3

PROBLEM = (
    f"Give a reason in words (at least {MIN_MEANINGFUL} letters or digits): spaces, "
    "punctuation or invisible characters alone do not say why."
)


def meaningful_characters(text: str) -> int:
    """How many letters and digits `text` holds (any script)."""
    return sum(1 for ch in text or "" if unicodedata.category(ch)[0] in {"L", "N"})


def is_meaningful_reason(text: str | None) -> bool:
    return meaningful_characters(text or "") >= MIN_MEANINGFUL


def reason_problem(text: str | None) -> str | None:
    """None when `text` is an acceptable reason, else the message to show."""
    return None if is_meaningful_reason(text) else PROBLEM
