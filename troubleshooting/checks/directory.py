"""Checks that read the directory: what the MFA service has recorded about the end user, their
enrollment, devices, authenticators and the policy that applies to them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from enrollment.enums import AuthenticatorStatus, EnrollmentStage
from enrollment.models import ActivationLink, Authenticator, Device, Enrollment, EnrollmentLink
from enrollment.policy import effective_policy
from helpdesk.redaction import masked_number
from troubleshooting import conf
from troubleshooting.checks import CheckContext, CheckResult, check

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the
# service's business; this catches the typos a directory import produces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

APP_PLATFORMS = ("ios", "android")
DONE_STAGES = (EnrollmentStage.ACTIVATED, EnrollmentStage.VERIFIED)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "17.4" -> (17, 4), "12" -> (12,); trailing zeros dropped so "12.0" equals "12";
    non-numeric parts count as 0 so an odd build tag never crashes a check."""
    parts = []
    for piece in (version or "").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def version_below(version: str | None, minimum: str | None) -> bool:
    """True when both are known and `version` is older than `minimum`."""
    if not version or not minimum:
        return False
    return version_tuple(version) < version_tuple(minimum)


@check(
    "user_status",
    outcomes=["active", "pending_enrollment", "bypass", "locked_out", "disabled"],
    facts=["user_status", "user_privileged"],
    title="Directory status of the end user",
)
def user_status(ctx: CheckContext) -> CheckResult:
    """The end user's status in the directory; privileged users need a second approver."""
    user = ctx.end_user
    return CheckResult(
        user.status,
        {"username": user.username, "status": user.status, "privileged": user.is_privileged},
        {"user_status": user.status, "user_privileged": user.is_privileged},
    )


@check(
    "enrollment_stage",
    outcomes=[
        "not_started",
        "in_progress",
        "completed",
        "link_expired",
        "activation_expired",
        "failed",
    ],
    facts=[
        "enrollment_stage",
        "enrollment_error",
        "enrollment_link_expired",
        "activation_link_expired",
        "enrollment_link_sent_count",
    ],
    title="Enrollment stage reached and link expiry",
)
def enrollment_stage(ctx: CheckContext) -> CheckResult:
    """How far the latest enrollment got, the error that stopped it, and whether the
    enrollment link or the pending authenticator's activation link has expired."""
    user = ctx.end_user
    enrollment = Enrollment.objects.filter(end_user=user).order_by("-started_at", "-id").first()
    link = EnrollmentLink.objects.filter(end_user=user).order_by("-created_at", "-id").first()
    pending = (
        Authenticator.objects.filter(end_user=user, status=AuthenticatorStatus.PENDING_ACTIVATION)
        .order_by("-created_at", "-id")
        .first()
    )
    activation = (
        ActivationLink.objects.filter(authenticator=pending, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
        if pending
        else None
    )
    stage = enrollment.stage if enrollment else None
    error = enrollment.error if enrollment else None
    done = stage in DONE_STAGES and not error
    link_expired = bool(link and link.is_expired(ctx.now)) and not done
    activation_expired = bool(activation and activation.is_expired(ctx.now)) and not done

    if enrollment is None and link is None:
        outcome = "not_started"
    elif done:
        outcome = "completed"
    elif error == "link_expired" or link_expired:
        outcome = "link_expired"
    elif error == "activation_expired" or activation_expired:
        outcome = "activation_expired"
    elif error:
        outcome = "failed"
    else:
        outcome = "in_progress"

    evidence = {
        "stage": stage,
        "error": error,
        "started_at": _iso(enrollment.started_at) if enrollment else None,
        "completed_at": _iso(enrollment.completed_at) if enrollment else None,
        "enroll_by": _iso(link.enroll_by) if link else None,
        "link_sent_count": link.sent_count if link else 0,
        "link_expired": link_expired,
        "pending_authenticator": pending.name if pending else None,
        "activation_expires_at": _iso(activation.expires_at) if activation else None,
        "activation_expired": activation_expired,
    }
    facts = {
        "enrollment_stage": stage,
        "enrollment_error": error,
        "enrollment_link_expired": link_expired or error == "link_expired",
        "activation_link_expired": activation_expired or error == "activation_expired",
        "enrollment_link_sent_count": link.sent_count if link else 0,
    }
    return CheckResult(outcome, evidence, facts)


def _live_devices(ctx: CheckContext) -> list[Device]:
    return list(
        Device.objects.filter(end_user=ctx.end_user, lost_at__isnull=True).order_by("name", "id")
    )


@check(
    "device_compatibility",
    outcomes=["compatible", "os_too_old", "app_outdated", "no_device"],
    facts=["device_os_below_minimum", "device_app_below_minimum", "device_platforms"],
    title="Devices against the minimum OS and app versions",
)
def device_compatibility(ctx: CheckContext) -> CheckResult:
    """Compares each device the end user still has with the effective policy's minimum OS
    version for its platform and minimum authenticator-app version."""
    devices = _live_devices(ctx)
    policy = effective_policy(ctx.end_user, ctx.application)
    min_os = policy.value("min_os_versions") or {}
    min_app = policy.value("min_app_version")
    rows: list[dict[str, Any]] = []
    for device in devices:
        os_minimum = min_os.get(device.platform)
        app_minimum = min_app if device.platform in APP_PLATFORMS else None
        rows.append(
            {
                "device": device.name,
                "platform": device.platform,
                "os_version": device.os_version,
                "os_minimum": os_minimum,
                "os_below_minimum": version_below(device.os_version, os_minimum),
                "app_version": device.app_version,
                "app_minimum": app_minimum,
                "app_below_minimum": version_below(device.app_version, app_minimum),
            }
        )
    os_old = any(row["os_below_minimum"] for row in rows)
    app_old = any(row["app_below_minimum"] for row in rows)
    if not rows:
        outcome = "no_device"
    elif os_old:
        outcome = "os_too_old"
    elif app_old:
        outcome = "app_outdated"
    else:
        outcome = "compatible"
    evidence = {
        "devices": rows,
        "min_os_versions_source": policy.min_os_versions.source,
        "min_app_version_source": policy.min_app_version.source,
    }
    facts = {
        "device_os_below_minimum": os_old,
        "device_app_below_minimum": app_old,
        "device_platforms": sorted({row["platform"] for row in rows}),
    }
    return CheckResult(outcome, evidence, facts)


@check(
    "device_health",
    outcomes=["healthy", "not_push_capable", "never_seen", "not_seen_recently", "no_device"],
    facts=[
        "device_count",
        "device_lost_count",
        "device_push_capable",
        "device_last_seen_hours",
    ],
    title="Device last seen and push capability",
)
def device_health(ctx: CheckContext) -> CheckResult:
    """When the service last heard from the end user's devices, and whether it holds a push
    registration for one of them. Devices carrying an active or pending push authenticator
    are the ones that matter; without one, every device the user still has."""
    all_devices = list(Device.objects.filter(end_user=ctx.end_user).order_by("name", "id"))
    live = [device for device in all_devices if device.lost_at is None]
    push_device_ids = set(
        Authenticator.objects.filter(
            end_user=ctx.end_user,
            method="push",
            status__in=[AuthenticatorStatus.ACTIVE, AuthenticatorStatus.PENDING_ACTIVATION],
            device__isnull=False,
        ).values_list("device_id", flat=True)
    )
    relevant = [device for device in live if device.id in push_device_ids] or live
    seen = [device.last_seen_at for device in relevant if device.last_seen_at]
    last_seen = max(seen) if seen else None
    hours = round((ctx.now - last_seen).total_seconds() / 3600, 1) if last_seen else None
    push_capable = any(device.push_capable for device in relevant)

    if not relevant:
        outcome = "no_device"
    elif not push_capable:
        outcome = "not_push_capable"
    elif last_seen is None:
        outcome = "never_seen"
    elif hours is not None and hours > conf.device_stale_hours():
        outcome = "not_seen_recently"
    else:
        outcome = "healthy"
    evidence = {
        "devices": [
            {
                "device": device.name,
                "platform": device.platform,
                "last_seen_at": _iso(device.last_seen_at),
                "push_capable": device.push_capable,
                "lost": device.lost_at is not None,
            }
            for device in all_devices
        ],
        "stale_after_hours": conf.device_stale_hours(),
    }
    facts = {
        "device_count": len(live),
        "device_lost_count": len(all_devices) - len(live),
        "device_push_capable": push_capable,
        "device_last_seen_hours": hours,
    }
    return CheckResult(outcome, evidence, facts)


@check(
    "effective_policy",
    outcomes=[
        "enforced",
        "mfa_disabled",
        "not_permitted",
        "exempt",
        "methods_not_allowed",
        "enrollment_optional",
        "new_devices_only",
    ],
    facts=[
        "policy_mfa_enabled",
        "policy_enforcement",
        "policy_allowed_methods",
        "policy_default_method",
        "policy_default_method_allowed",
        "policy_allow_fallback",
        "policy_enrollment_required",
        "policy_remembered_device_days",
        "policy_user_exempt",
        "policy_user_permitted",
        "policy_allows_user_methods",
        "policy_sources",
    ],
    title="Effective policy and which rule supplied it",
)
def effective_policy_check(ctx: CheckContext) -> CheckResult:
    """The policy that applies to the end user for this application, each setting with the
    policy that supplied it, and whether it lets the user's authenticators be used at all."""
    policy = effective_policy(ctx.end_user, ctx.application)
    allowed = list(policy.value("allowed_methods"))
    user_methods = sorted(
        set(
            Authenticator.objects.filter(
                end_user=ctx.end_user, status=AuthenticatorStatus.ACTIVE
            ).values_list("method", flat=True)
        )
    )
    allows_user_methods = not user_methods or any(method in allowed for method in user_methods)
    default_allowed = policy.value("default_method") in allowed
    enforcement = policy.value("enforcement")
    remembered_days = policy.value("remembered_device_days") or 0

    if not policy.value("mfa_enabled"):
        outcome = "mfa_disabled"
    elif not policy.is_permitted:
        outcome = "not_permitted"
    elif policy.is_exempt:
        outcome = "exempt"
    elif not allows_user_methods or not default_allowed:
        outcome = "methods_not_allowed"
    elif not user_methods and not policy.value("enrollment_required"):
        outcome = "enrollment_optional"
    elif enforcement == "new_devices_only" or remembered_days > 0:
        outcome = "new_devices_only"
    else:
        outcome = "enforced"

    evidence = {
        "application": policy.application,
        "settings": {
            name: {"value": _jsonable(setting.value), "source": setting.source}
            for name, setting in policy.items()
        },
        "user_groups": list(policy.user_groups),
        "exempt_via": list(policy.exempt_via),
        "permitted_via": list(policy.permitted_via),
        "user_methods": user_methods,
    }
    facts = {
        "policy_mfa_enabled": bool(policy.value("mfa_enabled")),
        "policy_enforcement": enforcement,
        "policy_allowed_methods": allowed,
        "policy_default_method": policy.value("default_method"),
        "policy_default_method_allowed": default_allowed,
        "policy_allow_fallback": bool(policy.value("allow_fallback")),
        "policy_enrollment_required": bool(policy.value("enrollment_required")),
        "policy_remembered_device_days": remembered_days,
        "policy_user_exempt": policy.is_exempt,
        "policy_user_permitted": policy.is_permitted,
        "policy_allows_user_methods": allows_user_methods,
        "policy_sources": {name: setting.source for name, setting in policy.items()},
    }
    return CheckResult(outcome, evidence, facts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


# Which contact attribute each delivery method needs.
_CHANNEL_NEEDS = {"sms": ("mobile",), "voice": ("phone", "mobile"), "email": ("email",)}


@check(
    "contact_attributes",
    outcomes=["complete", "missing", "malformed"],
    facts=[
        "email_present",
        "email_valid",
        "mobile_present",
        "mobile_valid",
        "phone_present",
        "phone_valid",
        "contact_missing_for",
    ],
    title="Contact attributes present and well-formed",
)
def contact_attributes(ctx: CheckContext) -> CheckResult:
    """Email (needed for enrollment and email codes), mobile (SMS) and phone (calls): present,
    and well-formed (E.164 numbers, a plausible email address). `missing` when an attribute
    that enrollment or one of the user's authenticators needs is absent."""
    user = ctx.end_user
    values = {"email": user.email.strip(), "mobile": user.mobile.strip(), "phone": user.phone}
    values["phone"] = values["phone"].strip()
    valid = {
        "email": bool(EMAIL.match(values["email"])),
        "mobile": bool(E164.match(values["mobile"])),
        "phone": bool(E164.match(values["phone"])),
    }
    methods = set(
        Authenticator.objects.filter(end_user=user)
        .exclude(status=AuthenticatorStatus.REVOKED)
        .values_list("method", flat=True)
    )
    missing_for = sorted(
        method
        for method in methods
        if method in _CHANNEL_NEEDS and not any(values[attr] for attr in _CHANNEL_NEEDS[method])
    )
    malformed = [name for name in values if values[name] and not valid[name]]
    if malformed:
        outcome = "malformed"
    elif not values["email"] or missing_for:
        outcome = "missing"
    else:
        outcome = "complete"
    # The evidence is kept for years on an append-only trail: numbers by their last two digits
    # (the directory page shows them in full to whoever may see them), the address as it is.
    shown = {
        "email": values["email"],
        "mobile": masked_number(values["mobile"]) if values["mobile"] else "",
        "phone": masked_number(values["phone"]) if values["phone"] else "",
    }
    evidence = {
        name: {"value": shown[name], "present": bool(values[name]), "valid": valid[name]}
        for name in values
    }
    evidence["malformed"] = malformed
    evidence["missing_for_methods"] = missing_for
    facts = {
        "email_present": bool(values["email"]),
        "email_valid": valid["email"],
        "mobile_present": bool(values["mobile"]),
        "mobile_valid": valid["mobile"],
        "phone_present": bool(values["phone"]),
        "phone_valid": valid["phone"],
        "contact_missing_for": missing_for,
    }
    return CheckResult(outcome, evidence, facts)


@check(
    "authenticators",
    outcomes=["name_conflict", "active", "pending_activation", "disabled", "none"],
    facts=[
        "authenticator_active_count",
        "authenticator_active_methods",
        "authenticator_pending_count",
        "authenticator_disabled_count",
        "authenticator_name_conflict",
        "authenticator_max_failures",
    ],
    title="Authenticator status and name conflicts",
)
def authenticators(ctx: CheckContext) -> CheckResult:
    """The end user's authenticators by status, and whether a live one shares its name with
    another of theirs (revoked ones included: the service keeps their names)."""
    rows = list(Authenticator.objects.filter(end_user=ctx.end_user).order_by("created_at", "id"))
    live = [row for row in rows if row.status != AuthenticatorStatus.REVOKED]
    by_name: dict[str, list[Authenticator]] = {}
    for row in rows:
        if row.name:
            by_name.setdefault(row.name.strip().casefold(), []).append(row)
    conflicts = sorted(
        group[0].name
        for group in by_name.values()
        if len(group) > 1 and any(row.status != AuthenticatorStatus.REVOKED for row in group)
    )
    counts = {
        status: sum(1 for row in live if row.status == status)
        for status in (
            AuthenticatorStatus.ACTIVE,
            AuthenticatorStatus.PENDING_ACTIVATION,
            AuthenticatorStatus.DISABLED,
        )
    }
    if conflicts:
        outcome = "name_conflict"
    elif counts[AuthenticatorStatus.ACTIVE]:
        outcome = "active"
    elif counts[AuthenticatorStatus.PENDING_ACTIVATION]:
        outcome = "pending_activation"
    elif counts[AuthenticatorStatus.DISABLED]:
        outcome = "disabled"
    else:
        outcome = "none"
    evidence = {
        "authenticators": [
            {
                "name": row.name,
                "method": row.method,
                "status": row.status,
                "serial": row.serial,
                "failure_count": row.failure_count,
                "activated_at": _iso(row.activated_at),
            }
            for row in rows
        ],
        "name_conflicts": conflicts,
    }
    facts = {
        "authenticator_active_count": counts[AuthenticatorStatus.ACTIVE],
        "authenticator_active_methods": sorted(
            {row.method for row in live if row.status == AuthenticatorStatus.ACTIVE}
        ),
        "authenticator_pending_count": counts[AuthenticatorStatus.PENDING_ACTIVATION],
        "authenticator_disabled_count": counts[AuthenticatorStatus.DISABLED],
        "authenticator_name_conflict": bool(conflicts),
        "authenticator_max_failures": max((row.failure_count for row in live), default=0),
    }
    return CheckResult(outcome, evidence, facts)
