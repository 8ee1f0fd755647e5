"""Checks for the enrollment playbook beyond the directory's own records: what the MFA
service's delivery log says happened to the enrollment invitation."""

from __future__ import annotations

from enrollment.models import Device, EnrollmentLink
from troubleshooting.checks import CheckContext, CheckResult, check
from troubleshooting.checks.directory import user_status

# The delivery log's statuses, grouped by what the technician does next.
_PENDING = ("queued", "delayed", "rate_limited")
# Authenticators that still bind a device (a revoked one no longer does).
_LIVE = ("pending_activation", "active", "disabled")


@check(
    "invitation_delivery",
    outcomes=["delivered", "filtered", "pending", "failed", "not_sent"],
    facts=["invitation_delivery_status", "invitation_sent_count"],
    title="What became of the enrollment email",
)
def invitation_delivery(ctx: CheckContext) -> CheckResult:
    """The newest email the service sent the end user since their latest enrollment link
    was issued, as its delivery log reports it: accepted by the mail server, filed as spam
    (`filtered`), still on its way, bounced (`failed`), or never sent at all."""
    link = (
        EnrollmentLink.objects.filter(end_user=ctx.end_user).order_by("-created_at", "-id").first()
    )
    emails = [
        report
        for report in ctx.mfa.delivery_log(end_user_id=ctx.end_user.pk)
        if report.channel == "email" and (link is None or report.at >= link.created_at)
    ]
    latest = emails[0] if emails else None
    if latest is None:
        outcome = "not_sent"
    elif latest.status in _PENDING:
        outcome = "pending"
    elif latest.status in ("delivered", "filtered", "failed"):
        outcome = latest.status
    else:
        outcome = "failed"
    evidence = {
        "emails": [
            {"at": report.at.isoformat(), "status": report.status, "detail": report.detail}
            for report in emails[:5]
        ],
        "link_created_at": link.created_at.isoformat() if link else None,
        "link_sent_count": link.sent_count if link else 0,
    }
    facts = {
        "invitation_delivery_status": latest.status if latest else None,
        "invitation_sent_count": link.sent_count if link else 0,
    }
    return CheckResult(outcome, evidence, facts)


@check(
    "user_status_now",
    outcomes=["active", "pending_enrollment", "bypass", "locked_out", "disabled"],
    facts=["user_status", "user_privileged"],
    title="Directory status, read again",
)
def user_status_now(ctx: CheckContext) -> CheckResult:
    """The end user's status read afresh from the directory, for a step that follows a
    hand-over to another playbook which may have changed it (an unlock sets a locked user
    back to active, or to pending enrollment when nothing is active yet). The session's
    copy of the record is refreshed too, so the checks after it see the same row."""
    ctx.end_user.refresh_from_db()
    return user_status(ctx)


# Phones an authenticator app runs on.
_PHONES = ("ios", "android")


@check(
    "replacement_device",
    outcomes=["new_device", "none"],
    facts=["new_device_count", "new_device_platforms"],
    title="A new phone waiting to be set up",
)
def replacement_device(ctx: CheckContext) -> CheckResult:
    """Phones on record that the end user still has (none recorded lost) and that carry no
    authenticator (none live: pending, active or disabled): a new phone registered but
    never set up, which the account can move to without anything being reported lost."""
    devices = list(
        Device.objects.filter(end_user=ctx.end_user, lost_at__isnull=True, platform__in=_PHONES)
        .exclude(authenticators__status__in=_LIVE)
        .order_by("-created_at", "-id")
    )
    bound = list(
        Device.objects.filter(end_user=ctx.end_user, authenticators__status__in=_LIVE)
        .distinct()
        .values_list("name", flat=True)
    )
    evidence = {
        "new_devices": [
            {"device": d.name, "platform": d.platform, "os_version": d.os_version} for d in devices
        ],
        "devices_with_authenticators": sorted(bound),
    }
    facts = {
        "new_device_count": len(devices),
        "new_device_platforms": sorted({d.platform for d in devices}),
    }
    return CheckResult("new_device" if devices else "none", evidence, facts)
