"""Effective policy: which MFA settings apply to an end user signing in to an application,
and which policy supplied each one (the "why" technicians see on a ticket).

Resolution, least to most specific: the defaults below -> the global policy -> the
application's policy -> the policies of the end user's groups. For every setting the most
specific policy that sets it wins; a NULL column means "inherit" and is skipped.

A user in several groups with policies: the group policies are ranked by `priority` (lower
wins), ties broken by group name (A before Z), and for each setting the best-ranked group
policy that sets it supplies it. So a priority-10 "Contractors" policy that leaves
`allow_fallback` unset lets a priority-20 "Sales" policy supply it, while its own
`allowed_methods` beats Sales'.

Settings are resolved as they are configured, contradictions included: a default method the
allowed methods do not contain comes back as is, for a check to report (validating policies
is the policy editor's job).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.db.models import Q

from enrollment.enums import Enforcement, Method, PolicyScope
from enrollment.models import Application, EndUser, Policy

DEFAULT_SOURCE = "default"

# The settings, in the order scenarios.md lists them (and the ticket page shows them).
SETTING_NAMES: tuple[str, ...] = (
    "mfa_enabled",
    "enforcement",
    "allowed_methods",
    "default_method",
    "allow_fallback",
    "enrollment_required",
    "max_invalid_attempts",
    "code_timeout_seconds",
    "push_timeout_seconds",
    "resend_limit",
    "remembered_device_days",
    "min_os_versions",
    "min_app_version",
    "exempt_groups",
    "permitted_groups",
)

SETTING_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "mfa_enabled": "MFA enabled",
        "enforcement": "Enforcement",
        "allowed_methods": "Allowed methods",
        "default_method": "Default method",
        "allow_fallback": "Fallback to another method",
        "enrollment_required": "Enrollment required",
        "max_invalid_attempts": "Maximum invalid attempts",
        "code_timeout_seconds": "Code timeout (seconds)",
        "push_timeout_seconds": "Push timeout (seconds)",
        "resend_limit": "Resend limit",
        "remembered_device_days": "Remembered device (days)",
        "min_os_versions": "Minimum OS versions",
        "min_app_version": "Minimum app version",
        "exempt_groups": "Exempt groups",
        "permitted_groups": "Permitted groups",
    }
)

# The values scenarios.md's example policy shows: what applies where no policy says otherwise.
# max_invalid_attempts None = no limit; min_app_version None = no minimum;
# permitted_groups () = everyone may use the application.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "mfa_enabled": True,
        "enforcement": Enforcement.EVERY_LOGIN.value,
        "allowed_methods": (
            Method.PUSH.value,
            Method.TOTP.value,
            Method.SMS.value,
            Method.VOICE.value,
            Method.EMAIL.value,
            Method.HOTP_TOKEN.value,
            Method.WEBAUTHN.value,
            Method.BACKUP_CODES.value,
        ),
        "default_method": Method.PUSH.value,
        "allow_fallback": True,
        "enrollment_required": True,
        "max_invalid_attempts": 5,
        "code_timeout_seconds": 300,
        # A push prompt goes unanswered after about a minute in the vendors' products.
        "push_timeout_seconds": 60,
        "resend_limit": 3,
        "remembered_device_days": 0,
        "min_os_versions": MappingProxyType({"ios": "16.0", "android": "12"}),
        "min_app_version": "4.0",
        "exempt_groups": (),
        "permitted_groups": (),
    }
)


@dataclass(frozen=True, slots=True)
class EffectiveSetting:
    """One resolved setting and where it came from.

    `source` is "default", "global", "application:<name>" or "group:<name>"; `policy_id` is
    the supplying Policy's id, None for a default."""

    value: Any
    source: str
    policy_id: int | None


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The settings that apply to one end user signing in to one application (or to none).

    Values are immutable: lists come back as tuples (allowed_methods, exempt_groups and
    permitted_groups as group names, sorted); min_os_versions is a fresh dict.
    """

    application: str | None
    mfa_enabled: EffectiveSetting
    enforcement: EffectiveSetting
    allowed_methods: EffectiveSetting
    default_method: EffectiveSetting
    allow_fallback: EffectiveSetting
    enrollment_required: EffectiveSetting
    max_invalid_attempts: EffectiveSetting
    code_timeout_seconds: EffectiveSetting
    push_timeout_seconds: EffectiveSetting
    resend_limit: EffectiveSetting
    remembered_device_days: EffectiveSetting
    min_os_versions: EffectiveSetting
    min_app_version: EffectiveSetting
    exempt_groups: EffectiveSetting
    permitted_groups: EffectiveSetting
    # The end user's groups (names, sorted) the exemption / permission was resolved against.
    user_groups: tuple[str, ...]
    # The policies consulted, most specific first, as source labels ("group:Sales", …).
    consulted: tuple[str, ...]

    def setting(self, name: str) -> EffectiveSetting:
        if name not in SETTING_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def value(self, name: str) -> Any:
        return self.setting(name).value

    def items(self) -> Iterator[tuple[str, EffectiveSetting]]:
        """(name, setting) for every setting, in SETTING_NAMES order."""
        for name in SETTING_NAMES:
            yield name, getattr(self, name)

    @property
    def exempt_via(self) -> tuple[str, ...]:
        """The end user's groups that the effective exempt_groups contains."""
        return tuple(name for name in self.user_groups if name in self.exempt_groups.value)

    @property
    def is_exempt(self) -> bool:
        """The end user belongs to an exempt group: sign-in needs no second factor."""
        return bool(self.exempt_via)

    @property
    def permitted_via(self) -> tuple[str, ...]:
        """The end user's groups that the effective permitted_groups contains."""
        return tuple(name for name in self.user_groups if name in self.permitted_groups.value)

    @property
    def is_permitted(self) -> bool:
        """May use the application: no permitted groups configured, or a member of one."""
        return not self.permitted_groups.value or bool(self.permitted_via)


def effective_policy(end_user: EndUser, application: Application | str | None) -> EffectivePolicy:
    """Resolves the settings for `end_user` signing in to `application`.

    `application` may be an Application, its name (an unknown name has no policy of its own),
    or None for a sign-in not tied to an application. Reads the user's groups (the prefetch
    cache if filled) and the applicable policies: at most 1 + 3 queries, plus 1 when the
    application is given by name.
    """
    app_obj, app_name = _application(application)
    groups = list(end_user.groups.all())
    group_names = {group.id: group.name for group in groups}

    scope_filter = _policy_filter(app_obj, group_names.keys())
    policies = list(
        Policy.objects.filter(scope_filter)
        .select_related("application", "group")
        .prefetch_related("exempt_groups", "permitted_groups")
    )
    ordered = _most_specific_first(policies)

    resolved: dict[str, EffectiveSetting] = {}
    for name in SETTING_NAMES:
        resolved[name] = EffectiveSetting(_freeze(DEFAULTS[name]), DEFAULT_SOURCE, None)
        for policy in ordered:
            found, value = _configured(policy, name)
            if found:
                resolved[name] = EffectiveSetting(_freeze(value), policy.source_label, policy.id)
                break

    return EffectivePolicy(
        application=app_name,
        user_groups=tuple(sorted(group_names.values())),
        consulted=tuple(policy.source_label for policy in ordered),
        **resolved,
    )


def _application(application: Application | str | None) -> tuple[Application | None, str | None]:
    if application is None:
        return None, None
    if isinstance(application, Application):
        return application, application.name
    return Application.objects.filter(name=application).first(), application


def _policy_filter(application: Application | None, group_ids: Iterable[int]) -> Q:
    condition = Q(scope=PolicyScope.GLOBAL)
    if application is not None:
        condition |= Q(scope=PolicyScope.APPLICATION, application=application)
    ids = list(group_ids)
    if ids:
        condition |= Q(scope=PolicyScope.GROUP, group_id__in=ids)
    return condition


def _most_specific_first(policies: list[Policy]) -> list[Policy]:
    def rank(policy: Policy) -> tuple[int, int, str]:
        if policy.scope == PolicyScope.GROUP:
            return (0, policy.priority, policy.group.name)
        if policy.scope == PolicyScope.APPLICATION:
            return (1, 0, "")
        return (2, 0, "")

    return sorted(policies, key=rank)


def _configured(policy: Policy, name: str) -> tuple[bool, Any]:
    """(True, value) when `policy` sets `name`, (False, None) when it inherits it."""
    if name == "max_invalid_attempts":
        if policy.max_invalid_attempts_unlimited:
            return True, None
        return policy.max_invalid_attempts is not None, policy.max_invalid_attempts
    if name in ("exempt_groups", "permitted_groups"):
        if not getattr(policy, f"sets_{name}"):
            return False, None
        return True, tuple(sorted(group.name for group in getattr(policy, name).all()))
    value = getattr(policy, name)
    if name == "min_app_version" and value == "":
        return True, None  # set explicitly to "no minimum"
    return value is not None, value


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, Mapping):
        return dict(value)  # a copy: callers cannot change the defaults or a cached policy
    return value
