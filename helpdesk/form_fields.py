"""Form fields that keep hostile or mistyped input out of the database and date arithmetic.

Every filter and form in the app builds its numbers and dates from these, so a value the
database or Python's calendar cannot hold is refused with a message on the form instead of
failing deep in a query (SQLite refuses integers beyond 64 bits; ``date.max + 1 day`` and a
time-zone shift of ``date.min`` overflow). NUL characters are refused for every request by
``helpdesk.middleware.RejectNulCharactersMiddleware`` and, in every ``CharField``, by Django's
own validator.
"""

from datetime import date

from django import forms

# The largest value a database id (BigAutoField) or a stored counter can take.
ID_MAX = 2**63 - 1
# The calendar a date filter may name. Wide enough for any real case, far enough from
# date.min / date.max that "the day after" and time-zone shifts never overflow.
DATE_MIN = date(1970, 1, 1)
DATE_MAX = date(2999, 12, 31)


def _date_text(value: date) -> str:
    return f"{value.day} {value:%B} {value.year}"


class BoundedDateField(forms.DateField):
    """A date between DATE_MIN and DATE_MAX, with a message naming the range otherwise."""

    widget = forms.DateInput(attrs={"type": "date"})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("min", DATE_MIN.isoformat())
        self.widget.attrs.setdefault("max", DATE_MAX.isoformat())

    def validate(self, value):
        super().validate(value)
        if value is not None and not (DATE_MIN <= value <= DATE_MAX):
            raise forms.ValidationError(
                f"Enter a date between {_date_text(DATE_MIN)} and {_date_text(DATE_MAX)}.",
                code="out_of_range",
            )


def id_field(**kwargs) -> forms.IntegerField:
    """A positive whole number that fits a database id (ticket numbers, row ids, cursors)."""
    kwargs.setdefault("min_value", 1)
    kwargs.setdefault("max_value", ID_MAX)
    low = kwargs["min_value"]
    message = f"Enter a whole number from {low} to {kwargs['max_value']:,}."
    kwargs.setdefault(
        "error_messages", {"min_value": message, "max_value": message, "invalid": message}
    )
    return forms.IntegerField(**kwargs)
