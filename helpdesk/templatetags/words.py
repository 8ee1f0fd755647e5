"""Plain words for case vocabularies in templates: `{{ value|say:"root_cause" }}`,
`{{ outcome|finding_of:check }}`. The labels live in enrollment.labels (one module)."""

from django import template

from enrollment.labels import finding, say

register = template.Library()


@register.filter(name="say")
def say_filter(value: object, vocabulary: str) -> str:
    return say(vocabulary, value)


@register.filter(name="finding_of")
def finding_filter(outcome: str, check: str) -> str:
    return finding(check, outcome)


@register.filter
def digit_groups(code: str) -> str:
    """A code grouped in threes for reading aloud: 1234567890 -> 123 456 789 0."""
    text = str(code)
    return " ".join(text[i : i + 3] for i in range(0, len(text), 3))


@register.filter
def spoken_digits(code: str) -> str:
    """A code as a screen reader should say it: digit by digit, in its groups."""
    return ", ".join(" ".join(group) for group in digit_groups(code).split())
