"""Checks for access problems: what the end user has left to sign in with once a device is
gone."""

from __future__ import annotations

from enrollment.enums import AuthenticatorStatus
from enrollment.models import Authenticator, Device
from troubleshooting.checks import CheckContext, CheckResult, check

# Methods that do not live on a phone of their own: a code sent to a number or an address,
# or printed backup codes.
DETACHED_METHODS = ("sms", "voice", "email", "backup_codes")


@check(
    "remaining_access",
    outcomes=["other_method", "replacement_device", "nothing_left"],
    facts=[
        "lost_device_count",
        "held_device_count",
        "remaining_methods",
        "backup_codes_remaining",
    ],
    title="What is left after a lost device",
)
def remaining_access(ctx: CheckContext) -> CheckResult:
    """The devices recorded lost and those the user still has, and the active authenticators
    that do not depend on a lost device (a hardware token in hand, backup codes, a code sent
    to a number of record). A held device with no active authenticator is a replacement
    waiting to be enrolled."""
    devices = list(Device.objects.filter(end_user=ctx.end_user).order_by("name", "id"))
    lost = [device for device in devices if device.lost_at is not None]
    held = [device for device in devices if device.lost_at is None]
    lost_ids = {device.id for device in lost}
    active = list(
        Authenticator.objects.filter(
            end_user=ctx.end_user, status=AuthenticatorStatus.ACTIVE
        ).order_by("created_at", "id")
    )
    remaining = [a for a in active if a.device_id is None or a.device_id not in lost_ids]
    usable = [
        a
        for a in remaining
        if a.method != "backup_codes" or (a.remaining_codes is None or a.remaining_codes > 0)
    ]
    backup_left = sum(a.remaining_codes or 0 for a in remaining if a.method == "backup_codes")
    bound = {a.device_id for a in active if a.device_id is not None}
    spare = [device for device in held if device.id not in bound]

    if usable:
        outcome = "other_method"
    elif spare:
        outcome = "replacement_device"
    else:
        outcome = "nothing_left"
    evidence = {
        "lost_devices": [device.name for device in lost],
        "held_devices": [device.name for device in held],
        "remaining_authenticators": [
            {"name": a.name, "method": a.method, "detached": a.method in DETACHED_METHODS}
            for a in usable
        ],
        "backup_codes_remaining": backup_left,
        "unenrolled_devices": [device.name for device in spare],
    }
    facts = {
        "lost_device_count": len(lost),
        "held_device_count": len(held),
        "remaining_methods": sorted({a.method for a in usable}),
        "backup_codes_remaining": backup_left,
    }
    return CheckResult(outcome, evidence, facts)
