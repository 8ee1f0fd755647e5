"""Filters for the wizard's "what the evidence says" panel: facts in plain words."""

from typing import Any

from django import template

register = template.Library()

# Names whose words alone read badly; the rest read well with underscores as spaces.
_FACT_LABELS: dict[str, str] = {
    "last_auth_reason": "Why the last sign-in ended as it did",
    "last_auth_result": "Result of the last sign-in",
    "last_auth_factor": "Method of the last sign-in",
    "verify_reason": "Why the test sign-in ended as it did",
    "verify_result": "Result of the test sign-in",
    "device_push_capable": "The service can send pushes to the phone",
    "device_last_seen_hours": "Hours since the service last heard from the phone",
    "open_fraud_signals": "Open fraud reports",
    "policy_allow_fallback": "The policy allows another method",
    "policy_mfa_enabled": "The policy asks for a second factor",
    "policy_user_exempt": "The user is in an exempt group",
    "policy_user_permitted": "The user may use the application",
    "code_age_seconds": "Seconds between sending the code and its use",
    "code_timeout_seconds": "Seconds a code stays valid",
    "push_timeout_seconds": "Seconds a push prompt waits for an answer",
}


@register.filter
def fact_label(name: str) -> str:
    return _FACT_LABELS.get(name) or str(name).replace("_", " ").capitalize()


@register.filter
def fact_value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "not known"
    if isinstance(value, list | tuple):
        return ", ".join(str(item).replace("_", " ") for item in value) or "none"
    return str(value).replace("_", " ")
