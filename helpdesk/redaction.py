"""Phone numbers as the app writes them down where they are kept for years (the append-only
ticket trail, step evidence) or shown in passing: by their last two digits. The directory keeps
the numbers in full and shows them to whoever may see the end user."""

import re

# A phone number in free text: an international number, or seven digits and more in a row.
# Dates and times ("2026-12-01 05:28") have shorter runs and stay readable.
_PHONE = re.compile(r"\+\d[\d ().-]{4,}\d|\d{7,}")


def masked_number(number: str) -> str:
    """A phone number by its last two digits: "+14155550199" -> "…99"."""
    return f"…{number[-2:]}" if len(number) > 2 else "…"


def mask_numbers(text: str) -> str:
    """Free text with every phone number reduced to its last two digits (…42)."""
    return _PHONE.sub(lambda match: "…" + re.sub(r"\D", "", match.group())[-2:], text)
