"""Creating, changing and deleting MFA policies, with the checks that keep a policy workable.

Every change is one transaction: the policy row (and its group sets) plus one event on the
"admin" audit stream recording each setting's old and new value. Saving a policy that
changes nothing writes no event. The simulated MFA service resolves the effective policy on
every sign-in (enrollment.policy.effective_policy), so a saved change applies to the very
next sign-in; nothing is cached.

Consistency is checked against what the policy will actually resolve to: a setting the
policy leaves to inherit is taken from the less specific scopes (the defaults and, below
the global scope, the global policy). A group policy is checked against the global policy
only, because the application it meets varies from sign-in to sign-in.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from pydantic import Field

from enrollment.enums import Enforcement, Method, Platform, PolicyScope
from enrollment.models import Application, Group, Policy
from enrollment.policy import DEFAULTS, SETTING_NAMES
from helpdesk.enums import EventKind
from helpdesk.models import Staff, TicketEvent
from helpdesk.roles import Capability
from helpdesk.services.audit import Payload, audit_event_record, register_payload

AUDIT_STREAM = "admin"

# Dotted numbers: "17", "16.4", "4.80.1". Anything else cannot be compared with a device's
# reported version, so the service could never enforce it.
VERSION_RE = re.compile(r"^\d+(\.\d+)*$")

# Upper bounds that catch a slipped finger (an extra zero) without limiting real choices.
LIMITS: Mapping[str, tuple[int, int]] = {
    "max_invalid_attempts": (1, 100),
    "code_timeout_seconds": (1, 86_400),
    "push_timeout_seconds": (10, 3_600),
    "resend_limit": (0, 100),
    "remembered_device_days": (0, 365),
    "priority": (0, 10_000),
}


# --- Audit payload -------------------------------------------------------------------------------


class SettingChange(Payload):
    old: Any = None
    new: Any = None


class PolicyChangedPayload(Payload):
    action: str  # created | updated | deleted
    policy_id: int
    policy: str  # the source label: "global", "application:VPN", "group:Sales"
    by: str  # the acting staff member's username, so the trail reads on its own
    changes: dict[str, SettingChange] = Field(default_factory=dict)


register_payload(EventKind.POLICY_CHANGED, PolicyChangedPayload)


# --- Input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    """A policy's settings as an editor submits them. None means "inherit" everywhere,
    except: `max_invalid_attempts_unlimited` True means "no limit"; `min_app_version` ""
    means "no minimum"; `min_os_versions` {} means "no minimum on any platform";
    `exempt_groups` / `permitted_groups` [] means "this policy's set is empty"."""

    description: str = ""
    priority: int = 100
    mfa_enabled: bool | None = None
    enforcement: str | None = None
    allowed_methods: list[str] | None = None
    default_method: str | None = None
    allow_fallback: bool | None = None
    enrollment_required: bool | None = None
    max_invalid_attempts: int | None = None
    max_invalid_attempts_unlimited: bool = False
    code_timeout_seconds: int | None = None
    push_timeout_seconds: int | None = None
    resend_limit: int | None = None
    remembered_device_days: int | None = None
    min_os_versions: dict[str, str] | None = None
    min_app_version: str | None = None
    exempt_groups: list[Group] | None = field(default=None)
    permitted_groups: list[Group] | None = field(default=None)

    @classmethod
    def from_policy(cls, policy: Policy) -> "PolicyInput":
        values = {f.name: getattr(policy, f.name) for f in fields(cls) if "groups" not in f.name}
        for name in ("exempt_groups", "permitted_groups"):
            values[name] = (
                list(getattr(policy, name).all()) if getattr(policy, f"sets_{name}") else None
            )
        return cls(**values)

    def sets(self, name: str) -> bool:
        """Whether this input sets the setting `name` (one of SETTING_NAMES) itself."""
        if name == "max_invalid_attempts":
            return self.max_invalid_attempts_unlimited or self.max_invalid_attempts is not None
        return getattr(self, name) is not None

    def value(self, name: str) -> Any:
        """The value this input gives `name`, in effective_policy's terms (no limit = None,
        group sets as sorted names)."""
        if name == "max_invalid_attempts" and self.max_invalid_attempts_unlimited:
            return None
        if name == "min_app_version" and self.min_app_version == "":
            return None
        if name in ("exempt_groups", "permitted_groups"):
            return tuple(sorted(group.name for group in getattr(self, name)))
        return getattr(self, name)


@dataclass(frozen=True)
class PolicySaved:
    policy: Policy
    changes: dict[str, dict[str, Any]]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# --- Reads the editor shares ---------------------------------------------------------------------


def version_is_valid(value: str) -> bool:
    return bool(VERSION_RE.match(value))


def policy_inherited(*, scope: str, exclude_pk: int | None = None) -> dict[str, tuple[Any, str]]:
    """What a policy of `scope` inherits for each setting it leaves unset: (value, source).

    A global policy inherits the defaults; application and group policies inherit the
    global policy, then the defaults (a group policy meets many applications, so none is
    assumed). One query, plus one for the global policy's group sets when it has any."""
    resolved: dict[str, tuple[Any, str]] = {
        name: (_plain(DEFAULTS[name]), "default") for name in SETTING_NAMES
    }
    if scope == PolicyScope.GLOBAL:
        return resolved
    parent = (
        Policy.objects.filter(scope=PolicyScope.GLOBAL)
        .exclude(pk=exclude_pk)
        .prefetch_related("exempt_groups", "permitted_groups")
        .first()
    )
    if parent is not None:
        parent_input = PolicyInput.from_policy(parent)
        for name in SETTING_NAMES:
            if parent_input.sets(name):
                resolved[name] = (_plain(parent_input.value(name)), "global")
    return resolved


def policy_snapshot(policy: Policy) -> dict[str, Any]:
    """The policy's configuration as JSON data, the way audit events record it: None =
    inherit, "unlimited" = no limit on invalid attempts, "" = no minimum app version, group
    sets as sorted names."""
    snapshot: dict[str, Any] = {"description": policy.description}
    if policy.scope == PolicyScope.GROUP:
        snapshot["priority"] = policy.priority
    for name in SETTING_NAMES:
        if name == "max_invalid_attempts":
            value: Any = (
                "unlimited"
                if policy.max_invalid_attempts_unlimited
                else (policy.max_invalid_attempts)
            )
        elif name in ("exempt_groups", "permitted_groups"):
            value = (
                sorted(group.name for group in getattr(policy, name).all())
                if getattr(policy, f"sets_{name}")
                else None
            )
        elif name == "min_os_versions":
            value = (
                dict(sorted(policy.min_os_versions.items()))
                if policy.min_os_versions is not None
                else None
            )
        elif name == "allowed_methods":
            value = list(policy.allowed_methods) if policy.allowed_methods is not None else None
        else:
            value = getattr(policy, name)
        snapshot[name] = value
    return snapshot


# --- Validation ----------------------------------------------------------------------------------


def policy_validate(
    *,
    scope: str,
    data: PolicyInput,
    application: Application | None = None,
    group: Group | None = None,
    instance: Policy | None = None,
) -> None:
    """Checks a policy before it is saved. Raises ValidationError with a message per field
    (the editor's field names), so the form can show each next to its input."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    _validate_target(scope, application, group, instance, fail)
    _validate_values(data, fail)
    # The combination checks read the methods; unusable method values are reported alone.
    if "allowed_methods" not in errors and "default_method" not in errors:
        inherited = policy_inherited(
            scope=scope, exclude_pk=instance.pk if instance is not None else None
        )
        _validate_combination(data, inherited, fail)
    if errors:
        raise ValidationError(errors)


def _validate_target(scope, application, group, instance, fail) -> None:
    if scope not in PolicyScope.values:
        fail("scope", "Choose global, an application or a group.")
        return
    others = Policy.objects.all()
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if scope == PolicyScope.GLOBAL and others.filter(scope=PolicyScope.GLOBAL).exists():
        fail("scope", "There is already a global policy: edit it instead.")
    if scope == PolicyScope.APPLICATION:
        if application is None:
            fail("application", "Choose the application this policy is for.")
        elif others.filter(application=application).exists():
            fail("application", f"{application.name} already has a policy: edit it instead.")
    if scope == PolicyScope.GROUP:
        if group is None:
            fail("group", "Choose the group this policy is for.")
        elif others.filter(group=group).exists():
            fail("group", f"{group.name} already has a policy: edit it instead.")


def _validate_values(data: PolicyInput, fail) -> None:
    for name, (low, high) in LIMITS.items():
        value = getattr(data, name)
        if value is None:
            continue
        if value < low:
            fail(name, f"Must be at least {low}." if low else "Cannot be negative.")
        elif value > high:
            fail(name, f"Must be at most {high}.")
    if data.max_invalid_attempts_unlimited and data.max_invalid_attempts is not None:
        fail("max_invalid_attempts", "Give a limit or choose “no limit”, not both.")
    if data.enforcement is not None and data.enforcement not in Enforcement.values:
        fail("enforcement", "Choose every login or new devices only.")
    if data.default_method is not None and data.default_method not in Method.values:
        fail("default_method", "Choose one of the methods.")
    if data.allowed_methods is not None:
        if not data.allowed_methods:
            fail(
                "allowed_methods",
                "Allow at least one method. To let people in without a second factor, "
                "turn MFA off instead.",
            )
        elif any(m not in Method.values for m in data.allowed_methods):
            fail("allowed_methods", "Choose only from the listed methods.")
        elif len(set(data.allowed_methods)) != len(data.allowed_methods):
            fail("allowed_methods", "Each method may appear once.")
    if data.min_app_version and not version_is_valid(data.min_app_version):
        fail(
            "min_app_version",
            f"“{data.min_app_version}” is not a version: use dotted numbers such as 4.80.",
        )
    for platform, version in (data.min_os_versions or {}).items():
        if platform not in Platform.values:
            fail("min_os_versions", f"Unknown platform “{platform}”.")
        elif not version_is_valid(version):
            fail(
                f"min_os_{platform}",
                f"“{version}” is not a version: use dotted numbers such as 16.4.",
            )
    if data.exempt_groups is not None and data.permitted_groups is not None:
        both = sorted(
            {g.name for g in data.exempt_groups} & {g.name for g in data.permitted_groups}
        )
        if both:
            fail(
                "exempt_groups",
                f"{', '.join(both)} cannot be both exempt and a permitted group: an exempt "
                "group skips the second factor, a permitted group only opens the door.",
            )


def _validate_combination(data: PolicyInput, inherited: dict[str, tuple[Any, str]], fail) -> None:
    def resolved(name: str) -> tuple[Any, str]:
        return (_plain(data.value(name)), "this policy") if data.sets(name) else inherited[name]

    allowed, allowed_from = resolved("allowed_methods")
    default, default_from = resolved("default_method")
    fallback, fallback_from = resolved("allow_fallback")
    allowed = list(allowed or ())
    if (data.sets("default_method") or data.sets("allowed_methods")) and default not in allowed:
        target = "default_method" if data.sets("default_method") else "allowed_methods"
        fail(
            target,
            f"The default method ({_method_label(default)}, from {default_from}) is not among "
            f"the allowed methods ({', '.join(map(_method_label, allowed))}, from "
            f"{allowed_from}). Allow it, or choose another default.",
        )
    touches_fallback = data.sets("allow_fallback") or data.sets("allowed_methods")
    if touches_fallback and fallback and len(allowed) < 2:
        target = "allow_fallback" if data.sets("allow_fallback") else "allowed_methods"
        fail(
            target,
            f"Fallback is on (from {fallback_from}) but only "
            f"{_method_label(allowed[0]) if allowed else 'no method'} is allowed, so "
            "there is nothing to fall back to. Allow a second method or turn fallback off.",
        )
    if data.sets("exempt_groups") or data.sets("permitted_groups"):
        exempt, _ = resolved("exempt_groups")
        permitted, _ = resolved("permitted_groups")
        both = sorted(set(exempt or ()) & set(permitted or ()))
        if both and not (data.sets("exempt_groups") and data.sets("permitted_groups")):
            target = "exempt_groups" if data.sets("exempt_groups") else "permitted_groups"
            fail(
                target,
                f"{', '.join(both)} would be both exempt and a permitted group (one of the two "
                "is inherited). Choose one.",
            )


def _method_label(value: str | None) -> str:
    if value is None:
        return "none"
    try:
        return Method(value).label
    except ValueError:
        return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


# --- Writes --------------------------------------------------------------------------------------


def _require(actor: Staff) -> None:
    if not actor.has_capability(Capability.CONFIGURE_POLICY):
        raise PermissionDenied("Configuring policies needs the configure-policy capability.")


def _apply(policy: Policy, data: PolicyInput) -> None:
    policy.description = data.description
    policy.priority = data.priority if policy.scope == PolicyScope.GROUP else 100
    for name in (
        "mfa_enabled",
        "enforcement",
        "allowed_methods",
        "default_method",
        "allow_fallback",
        "enrollment_required",
        "max_invalid_attempts",
        "max_invalid_attempts_unlimited",
        "code_timeout_seconds",
        "push_timeout_seconds",
        "resend_limit",
        "remembered_device_days",
        "min_os_versions",
        "min_app_version",
    ):
        setattr(policy, name, getattr(data, name))
    if policy.min_os_versions is not None:
        policy.min_os_versions = dict(sorted(policy.min_os_versions.items()))
    policy.sets_exempt_groups = data.exempt_groups is not None
    policy.sets_permitted_groups = data.permitted_groups is not None
    policy.clean()
    policy.save()
    policy.exempt_groups.set(data.exempt_groups or [])
    policy.permitted_groups.set(data.permitted_groups or [])


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: {"old": old.get(key), "new": new.get(key)}
        for key in new.keys() | old.keys()
        if old.get(key) != new.get(key)
    }


def _unset(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with nothing set: the other side of a creation or deletion."""
    return {**dict.fromkeys(snapshot), "description": ""}


def _record(actor: Staff, policy: Policy, action: str, changes: dict[str, dict[str, Any]]) -> None:
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.POLICY_CHANGED,
        actor=actor,
        payload=PolicyChangedPayload(
            action=action,
            policy_id=policy.pk,
            policy=policy.source_label,
            by=actor.username,
            changes={key: SettingChange(**value) for key, value in sorted(changes.items())},
        ),
    )


@transaction.atomic
def policy_create(
    *,
    actor: Staff,
    scope: str,
    data: PolicyInput,
    application: Application | None = None,
    group: Group | None = None,
) -> PolicySaved:
    """Creates a policy for everyone (global), one application or one group.

    Side effects: the policy row and its group sets; an "admin.policy_changed" event
    (action "created") listing every setting the policy sets. Raises PermissionDenied
    without CONFIGURE_POLICY, ValidationError (per field) for an unworkable policy."""
    _require(actor)
    policy_validate(scope=scope, data=data, application=application, group=group)
    policy = Policy(
        scope=scope,
        application=application if scope == PolicyScope.APPLICATION else None,
        group=group if scope == PolicyScope.GROUP else None,
    )
    _apply(policy, data)
    after = policy_snapshot(policy)
    changes = _diff(_unset(after), after)
    _record(actor, policy, "created", changes)
    return PolicySaved(policy, changes)


@transaction.atomic
def policy_update(*, actor: Staff, policy: Policy, data: PolicyInput) -> PolicySaved:
    """Replaces a policy's settings with `data` (its scope and target stay).

    Side effects: when anything differs, the saved row and one "admin.policy_changed"
    event (action "updated") with the old and new value of each changed setting; when
    nothing differs, neither. Raises PermissionDenied without CONFIGURE_POLICY,
    ValidationError (per field) for an unworkable policy, Policy.DoesNotExist when the
    policy was deleted meanwhile."""
    _require(actor)
    # Lock the row so two editors saving at once record a truthful "old" each.
    locked = (
        Policy.objects.select_for_update(of=("self",))
        .select_related("application", "group")
        .get(pk=policy.pk)
    )
    policy_validate(
        scope=locked.scope,
        data=data,
        application=locked.application,
        group=locked.group,
        instance=locked,
    )
    before = policy_snapshot(locked)
    _apply(locked, data)
    changes = _diff(before, policy_snapshot(locked))
    if not changes:
        transaction.set_rollback(True)  # the row was rewritten unchanged; keep updated_at
        return PolicySaved(policy, {})
    _record(actor, locked, "updated", changes)
    return PolicySaved(locked, changes)


@transaction.atomic
def policy_delete(*, actor: Staff, policy: Policy) -> None:
    """Deletes an application or group policy; its settings fall back to inheritance.

    Side effects: the row goes; an "admin.policy_changed" event (action "deleted") keeps
    every setting it had. Raises PermissionDenied without CONFIGURE_POLICY and
    ValidationError for the global policy, which every other policy inherits from."""
    _require(actor)
    locked = (
        Policy.objects.select_for_update(of=("self",))
        .select_related("application", "group")
        .get(pk=policy.pk)
    )
    if locked.scope == PolicyScope.GLOBAL:
        raise ValidationError("The global policy cannot be deleted; change its settings instead.")
    before = policy_snapshot(locked)
    changes = _diff(before, _unset(before))
    _record(actor, locked, "deleted", changes)
    locked.delete()


# --- Reads for the policy pages ------------------------------------------------------------------


def policy_resolved(
    policy: Policy, *, inherited: dict[str, tuple[Any, str]] | None = None
) -> dict[str, tuple[Any, str]]:
    """Each setting as `policy` resolves it: its own value ("this policy") or the inherited
    one (see policy_inherited, which `inherited` may pass in precomputed)."""
    if inherited is None:
        inherited = policy_inherited(scope=policy.scope, exclude_pk=policy.pk)
    own = PolicyInput.from_policy(policy)
    return {
        name: (_plain(own.value(name)), "this policy") if own.sets(name) else inherited[name]
        for name in SETTING_NAMES
    }


@dataclass(frozen=True)
class CostAdvisory:
    title: str
    text: str


# Above this many resends per sign-in, a stuck user can run up a bill; the 2FA guide suggests
# capping resends at 3 to 5.
RESEND_ADVISORY_ABOVE = 5


def policy_cost_advisories(resolved: Mapping[str, tuple[Any, str]]) -> list[CostAdvisory]:
    """Settings that make the SMS bill grow, each with why (the provider charges per message;
    the vendors' 2FA troubleshooting guide lists the same three causes). A policy that turns
    MFA off asks for no second factor, so it sends nothing and costs nothing."""
    value = {name: setting[0] for name, setting in resolved.items()}
    if value["mfa_enabled"] is False:
        return []
    allowed = set(value["allowed_methods"] or ())
    texts = allowed & {Method.SMS, Method.VOICE}
    advisories = []
    if value["default_method"] == Method.SMS:
        advisories.append(
            CostAdvisory(
                "SMS is the default method",
                "Each prompt becomes a text message, and the SMS provider bills every one. "
                "Push or an authenticator app code cost nothing per sign-in, and email is "
                "usually cheaper than SMS: make one of them the default and keep SMS as a "
                "fallback.",
            )
        )
    resends = value["resend_limit"]
    how_many = resends if resends is not None else "any number of"
    if texts and (resends is None or resends > RESEND_ADVISORY_ABOVE):
        advisories.append(
            CostAdvisory(
                "Resends are not capped tightly",
                f"A user waiting for a code may ask for {how_many} "
                "more, each one a paid message (or call). The 2FA guide's advice is a resend "
                f"limit of 3 to {RESEND_ADVISORY_ABOVE}.",
            )
        )
    if (
        texts
        and value["enforcement"] == Enforcement.EVERY_LOGIN
        and not value["remembered_device_days"]
    ):
        advisories.append(
            CostAdvisory(
                "Every sign-in asks for a second factor",
                "With enforcement on every login and no remembered devices, users who sign in "
                "by SMS or phone call cost a message on each sign-in. Where security allows, "
                "enforce only on new devices and remember a device for some days.",
            )
        )
    return advisories


@dataclass(frozen=True)
class PolicyHistoryEntry:
    occurred_at: Any
    by: str
    action: str
    changes: dict[str, dict[str, Any]]


def policy_history(policy: Policy, *, limit: int = 10) -> list[PolicyHistoryEntry]:
    """The latest audit events about `policy`, newest first (one query)."""
    events = TicketEvent.objects.filter(
        stream=AUDIT_STREAM, kind=EventKind.POLICY_CHANGED, payload__policy_id=policy.pk
    ).order_by("-id")[:limit]
    return [
        PolicyHistoryEntry(
            event.occurred_at,
            event.payload.get("by", ""),
            event.payload.get("action", ""),
            event.payload.get("changes", {}),
        )
        for event in events
    ]
