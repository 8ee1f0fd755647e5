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
