"""The policy editor's form and the explorer's search: input parsing only. Whether a policy
is workable (a default method it allows, something to fall back to …) is decided by
enrollment.services.policy.policy_validate, whose errors the view puts on these fields."""

from typing import Any

from django import forms

from enrollment.enums import Enforcement, Method, Platform, PolicyScope
from enrollment.models import Application, Group, Policy
from enrollment.services.policy import LIMITS, PolicyInput, version_is_valid
from helpdesk.form_fields import id_field

INHERIT = ("", "Inherit")

# The platforms whose minimum OS version the editor offers, in Platform's order.
OS_PLATFORMS: tuple[tuple[str, str], ...] = tuple(Platform.choices)


def _tristate(on: str, off: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=[INHERIT, ("true", on), ("false", off)],
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
    )


def _number(name: str, label: str, help_text: str = "") -> forms.IntegerField:
    low, high = LIMITS[name]
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        required=False,
        help_text=help_text,
        error_messages={"min_value": "Cannot be negative."} if low == 0 else {},
    )


def _version_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=32, required=False, strip=True)


class PolicyForm(forms.Form):
    """Every setting of scenarios.md; each can be left to inherit.

    Lists and sets: allowed methods inherit when none is ticked (allowing nothing is never
    valid). Minimum OS versions and the group sets inherit unless a version or group is
    given or "set here" is ticked, so an explicitly empty set stays expressible."""

    scope = forms.ChoiceField(choices=PolicyScope.choices, required=False)
    application = forms.ModelChoiceField(
        queryset=Application.objects.all(), required=False, empty_label="Choose an application"
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.all(), required=False, empty_label="Choose a group"
    )
    description = forms.CharField(max_length=300, required=False)
    priority = _number(
        "priority",
        "Priority",
        "For a user in several groups: the lower number wins, then the group name.",
    )

    mfa_enabled = _tristate("On", "Off")
    mfa_enabled.label = "MFA"
    enforcement = forms.ChoiceField(
        choices=[INHERIT, *Enforcement.choices], required=False, label="Enforcement"
    )
    allowed_methods = forms.MultipleChoiceField(
        choices=Method.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Allowed methods",
        help_text="Tick none to inherit.",
    )
    default_method = forms.ChoiceField(
        choices=[INHERIT, *Method.choices], required=False, label="Default method"
    )
    allow_fallback = _tristate("Allowed", "Not allowed")
    allow_fallback.label = "Fallback to another allowed method"
    enrollment_required = _tristate("Required", "Optional")
    enrollment_required.label = "Enrollment"
    max_invalid_attempts = _number(
        "max_invalid_attempts", "Maximum invalid attempts", "Empty to inherit."
    )
    max_invalid_attempts_unlimited = forms.BooleanField(required=False, label="No limit")
    code_timeout_seconds = _number(
        "code_timeout_seconds", "Code timeout (seconds)", "Empty to inherit."
    )
    push_timeout_seconds = _number(
        "push_timeout_seconds",
        "Push timeout (seconds)",
        "How long a push prompt waits for an answer. Empty to inherit.",
    )
    resend_limit = _number("resend_limit", "Resend limit", "Empty to inherit.")
    remembered_device_days = _number(
        "remembered_device_days",
        "Remembered device (days)",
        "Used with “new devices only”. Empty to inherit.",
    )
    min_os_versions_set = forms.BooleanField(
        required=False, label="Set minimum OS versions here (even if all are empty)"
    )
    min_app_version = _version_field("Minimum app version")
    min_app_version_none = forms.BooleanField(required=False, label="No minimum")
    exempt_groups_set = forms.BooleanField(
        required=False, label="Set exempt groups here (even if none is ticked)"
    )
    exempt_groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Exempt groups",
        help_text="Members sign in without a second factor.",
    )
    permitted_groups_set = forms.BooleanField(
        required=False, label="Set permitted groups here (even if none is ticked)"
    )
    permitted_groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Permitted groups",
        help_text="Only members may sign in; none set means everyone.",
    )

    def __init__(self, *args: Any, policy: Policy | None = None, **kwargs: Any) -> None:
        self.policy = policy
        if policy is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(policy)
        super().__init__(*args, **kwargs)
        for platform, label in OS_PLATFORMS:
            self.fields[f"min_os_{platform}"] = _version_field(f"Minimum {label} version")
        if policy is not None:
            # Scope and target are fixed once a policy exists: delete and recreate instead.
            for name in ("scope", "application", "group"):
                del self.fields[name]
            if policy.scope != PolicyScope.GROUP:
                del self.fields["priority"]

    @property
    def os_fields(self) -> list[forms.BoundField]:
        return [self[f"min_os_{platform}"] for platform, _ in OS_PLATFORMS]

    def clean_min_app_version(self) -> str:
        value = self.cleaned_data["min_app_version"]
        if value and not version_is_valid(value):
            raise forms.ValidationError(
                f"“{value}” is not a version: use dotted numbers such as 4.80."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for platform, _ in OS_PLATFORMS:
            value = cleaned.get(f"min_os_{platform}")
            if value and not version_is_valid(value):
                self.add_error(
                    f"min_os_{platform}",
                    f"“{value}” is not a version: use dotted numbers such as 16.4.",
                )
        if cleaned.get("max_invalid_attempts") is not None and cleaned.get(
            "max_invalid_attempts_unlimited"
        ):
            self.add_error("max_invalid_attempts", "Give a limit or tick “no limit”, not both.")
        if cleaned.get("min_app_version") and cleaned.get("min_app_version_none"):
            self.add_error("min_app_version", "Give a version or tick “no minimum”, not both.")
        return cleaned

    def to_input(self) -> PolicyInput:
        data = self.cleaned_data
        os_versions = {
            platform: data[f"min_os_{platform}"]
            for platform, _ in OS_PLATFORMS
            if data.get(f"min_os_{platform}")
        }
        min_app: str | None = data["min_app_version"] or None
        if data["min_app_version_none"]:
            min_app = ""
        exempt = list(data["exempt_groups"])
        permitted = list(data["permitted_groups"])
        return PolicyInput(
            description=data["description"],
            priority=data["priority"] if data.get("priority") is not None else 100,
            mfa_enabled=data["mfa_enabled"],
            enforcement=data["enforcement"] or None,
            allowed_methods=list(data["allowed_methods"]) or None,
            default_method=data["default_method"] or None,
            allow_fallback=data["allow_fallback"],
            enrollment_required=data["enrollment_required"],
            max_invalid_attempts=data["max_invalid_attempts"],
            max_invalid_attempts_unlimited=data["max_invalid_attempts_unlimited"],
            code_timeout_seconds=data["code_timeout_seconds"],
            push_timeout_seconds=data["push_timeout_seconds"],
            resend_limit=data["resend_limit"],
            remembered_device_days=data["remembered_device_days"],
            min_os_versions=os_versions if os_versions or data["min_os_versions_set"] else None,
            min_app_version=min_app,
            exempt_groups=exempt if exempt or data["exempt_groups_set"] else None,
            permitted_groups=permitted if permitted or data["permitted_groups_set"] else None,
        )


def _tristate_initial(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def initial_for(policy: Policy) -> dict[str, Any]:
    """The form's initial values for an existing policy."""
    initial: dict[str, Any] = {
        "description": policy.description,
        "priority": policy.priority,
        "mfa_enabled": _tristate_initial(policy.mfa_enabled),
        "enforcement": policy.enforcement or "",
        "allowed_methods": list(policy.allowed_methods or []),
        "default_method": policy.default_method or "",
        "allow_fallback": _tristate_initial(policy.allow_fallback),
        "enrollment_required": _tristate_initial(policy.enrollment_required),
        "max_invalid_attempts": policy.max_invalid_attempts,
        "max_invalid_attempts_unlimited": policy.max_invalid_attempts_unlimited,
        "code_timeout_seconds": policy.code_timeout_seconds,
        "push_timeout_seconds": policy.push_timeout_seconds,
        "resend_limit": policy.resend_limit,
        "remembered_device_days": policy.remembered_device_days,
        "min_os_versions_set": policy.min_os_versions is not None,
        "min_app_version": policy.min_app_version or "",
        "min_app_version_none": policy.min_app_version == "",
        "exempt_groups_set": policy.sets_exempt_groups,
        "exempt_groups": list(policy.exempt_groups.all()) if policy.sets_exempt_groups else [],
        "permitted_groups_set": policy.sets_permitted_groups,
        "permitted_groups": (
            list(policy.permitted_groups.all()) if policy.sets_permitted_groups else []
        ),
    }
    for platform, version in (policy.min_os_versions or {}).items():
        initial[f"min_os_{platform}"] = version
    return initial


class ExplainForm(forms.Form):
    """The explorer's query: a search for the end user, the chosen user, the application."""

    q = forms.CharField(max_length=100, required=False, label="Find an end user")
    end_user = id_field(required=False, widget=forms.HiddenInput)
    application = forms.ModelChoiceField(
        queryset=Application.objects.all(),
        required=False,
        empty_label="No particular application",
        label="Application",
    )
