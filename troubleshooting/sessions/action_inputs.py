"""What an action node offers the technician to choose from, and which refusals of a
recovery service are about what was entered (asked again) rather than a guard."""

from __future__ import annotations

from enrollment.enums import AuthenticatorStatus, Method
from enrollment.models import Authenticator, Device, EndUser
from enrollment.services.guards import RecoveryRefused
from troubleshooting.sessions.errors import InputError


def action_authenticators(user: EndUser, action: str) -> list[Authenticator]:
    """The authenticators an action node offers to choose from."""
    live = Authenticator.objects.filter(end_user=user).exclude(status=AuthenticatorStatus.REVOKED)
    if action == "resend_activation":
        return list(live.filter(status=AuthenticatorStatus.PENDING_ACTIVATION).order_by("pk"))
    methods = {
        "resync_token": (Method.TOTP, Method.HOTP_TOKEN),
        "correct_token_serial": (Method.HOTP_TOKEN,),
        "reset_authenticator": (Method.PUSH,),
    }.get(action)
    if methods is None:
        return []
    return list(live.filter(method__in=methods).order_by("pk"))


def action_devices(user: EndUser) -> list[Device]:
    """The devices a mark-lost action may choose from (not already lost)."""
    return list(Device.objects.filter(end_user=user, lost_at__isnull=True).order_by("name", "pk"))


def _input_refusal(service, input_guards: set[str], **kwargs):
    """Runs a recovery service; a refusal about what was entered (not a guard on the caller
    or the technician) asks for the input again instead of taking the blocked branch."""
    try:
        return service(**kwargs)
    except RecoveryRefused as exc:
        if exc.guard in input_guards:
            raise InputError(exc.message) from exc
        raise
