"""Verifying the caller's identity, recorded on the ticket.

Three methods count, each ending in a verified IdentityVerification that is valid on that
ticket for IDENTITY_VERIFICATION_MINUTES (15) — and only on that ticket:

- a verification push to a device with an already-active push authenticator, sent through
  the MFA service; the technician's page polls its status until approved, denied or timed out;
- a callback to a phone number of record: the technician chooses one of the directory's
  numbers (never one the caller offers), calls it, and attests that the person who answered
  confirmed the request;
- a supervisor's approval, requested here and decided in enrollment.services.approvals.

Knowledge questions (date of birth, manager's name …) are not a method: anything a caller
can be told or can look up proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from enrollment import clock, conf
from enrollment.enums import (
    AuthenticatorStatus,
    Method,
    PushStatus,
    VerificationMethod,
    VerificationStatus,
)
from enrollment.mfa import MFAServiceError, get_mfa_service, not_offered_reason
from enrollment.models import Device, EndUser, IdentityVerification
from enrollment.permissions import is_own_account
from enrollment.services.events import IdentityPayload, identity_event_record
from enrollment.services.guards import (
    CAPABILITY,
    NOT_SELF,
    TICKET_OPEN,
    GuardResult,
    RecoveryRefused,
    check_access,
)
from helpdesk.enums import OPEN_STATUSES
from helpdesk.models import Staff, Ticket
from helpdesk.redaction import masked_number
from helpdesk.roles import Capability


class IdentityRefused(RecoveryRefused):
    """An identity verification could not be started or recorded (recorded as refused)."""


def _record(
    ticket: Ticket,
    actor: Staff,
    *,
    method: str,
    result: str,
    verification: IdentityVerification | None = None,
    reason: str = "",
    detail: str = "",
    guards: tuple[GuardResult, ...] = (),
    approval_id: int | None = None,
) -> None:
    identity_event_record(
        ticket=ticket,
        actor=actor,
        payload=IdentityPayload(
            method=method,
            result=result,
            by=actor.username,
            verification_id=verification.pk if verification else None,
            approval_id=approval_id,
            reason=reason,
            detail=detail,
            valid_until=(
                verification.valid_until.isoformat()
                if verification is not None and verification.valid_until
                else None
            ),
            guards=[g.as_payload() for g in guards],
        ),
    )


def identity_guards(
    actor: Staff,
    ticket: Ticket,
    method: str,
    capability: Capability = Capability.WORK_TICKETS,
    on_refusal: Callable[[tuple[GuardResult, ...], str], None] | None = None,
) -> tuple[GuardResult, ...]:
    """Capability, unit, open ticket and not-self for starting a verification. Raises
    PermissionDenied / Http404 / IdentityRefused after recording the refusal (as an identity
    event, or through `on_refusal(results, message)` when given)."""
    results = check_access(actor, ticket, capability)
    end_user = ticket.end_user
    is_open = ticket.status in OPEN_STATUSES
    own = is_own_account(actor, end_user)
    results = (
        *results,
        GuardResult(TICKET_OPEN, is_open, "" if is_open else f"Ticket #{ticket.pk} is closed."),
        GuardResult(
            NOT_SELF, not own, "You cannot verify a caller claiming to be you." if own else ""
        ),
    )
    failed = [r for r in results if not r.passed]
    if failed:
        with transaction.atomic():
            if on_refusal is not None:
                on_refusal(results, failed[0].detail)
            else:
                _record(
                    ticket,
                    actor,
                    method=method,
                    result="refused",
                    detail=failed[0].detail,
                    guards=results,
                )
        if failed[0].name == "capability":
            raise PermissionDenied(failed[0].detail)
        if failed[0].name == "administrative_unit":
            raise Http404("No such ticket.")
        raise IdentityRefused(failed[0].detail, guard=failed[0].name, results=results)
    return results


def push_devices(end_user: EndUser) -> list[Device]:
    """Devices a verification push may go to: not lost, push-capable, with an active push
    authenticator (a device registered only moments ago by a caller is not one)."""
    return list(
        Device.objects.filter(
            end_user=end_user,
            lost_at__isnull=True,
            push_capable=True,
            authenticators__method=Method.PUSH,
            authenticators__status=AuthenticatorStatus.ACTIVE,
        )
        .distinct()
        .order_by("name", "id")
    )


def phone_numbers_of_record(end_user: EndUser) -> list[str]:
    """The directory's numbers for the end user, for a callback (never a caller's)."""
    numbers = []
    for number in (end_user.phone, end_user.mobile):
        number = (number or "").strip()
        if number and number not in numbers:
            numbers.append(number)
    return numbers


def identity_push_send(*, actor: Staff, ticket: Ticket, device_id: int) -> IdentityVerification:
    """Sends a verification push to one of the end user's active push devices.

    Side effects: a pending IdentityVerification and an identity event (pending) in one
    transaction; then the push through the MFA service, and its id stored (or the
    verification marked failed, with an event, if the service refused). Raises
    PermissionDenied, Http404, IdentityRefused (not an active push device)."""
    guards = identity_guards(actor, ticket, VerificationMethod.PUSH)
    not_offered = not_offered_reason("identity_push_send", get_mfa_service())
    device = next((d for d in push_devices(ticket.end_user) if d.pk == device_id), None)
    if device is None or not_offered:
        detail = not_offered or (
            "That device has no active push authenticator; choose another method."
        )
        with transaction.atomic():
            _record(
                ticket,
                actor,
                method=VerificationMethod.PUSH,
                result="refused",
                detail=detail,
                guards=(*guards, GuardResult("active_push_device", False, detail)),
            )
        raise IdentityRefused(detail, guard="active_push_device", results=guards)
    with transaction.atomic():
        verification = IdentityVerification.objects.create(
            ticket=ticket,
            end_user_id=ticket.end_user_id,
            method=VerificationMethod.PUSH,
            device=device,
            requested_by=actor,
            created_at=clock.now(),
        )
        _record(
            ticket,
            actor,
            method=VerificationMethod.PUSH,
            result="pending",
            verification=verification,
            detail=f"Push sent to {device.name}.",
            guards=guards,
        )
    # The push leaves only once its record is committed: a push we have no record of
    # could be approved with nothing to show for it.
    try:
        push = get_mfa_service().send_verification_push(
            end_user_id=ticket.end_user_id,
            device_id=device.pk,
            context=f"Helpdesk ticket #{ticket.pk}: are you on the phone with {actor.username}?",
        )
    except MFAServiceError as error:
        return _conclude(verification, actor, PushStatus.FAILED, str(error))
    IdentityVerification.objects.filter(pk=verification.pk).update(push_id=push.id)
    verification.push_id = push.id
    if not push.is_pending:
        return _conclude(verification, actor, push.status, push.detail)
    return verification


NOT_REQUESTER = "not_requester"


def identity_push_answer_check(*, actor: Staff, push_id: str, demo_mode: bool) -> None:
    """Refuses `actor` answering, on the caller's behalf (the device simulator), the push
    `push_id` when it is an identity-verification push and they may not: without the
    capability to act as the caller, or — outside the demo run — because they requested
    it themselves (one technician must never verify a caller alone). Pushes that verify
    nobody (ordinary sign-ins) pass unchecked.

    Side effects: on refusal, an identity event (result "refused") on the verification's
    ticket. Raises PermissionDenied (no capability) or IdentityRefused (the requester)."""
    verification = (
        IdentityVerification.objects.select_related("ticket", "requested_by")
        .filter(push_id=push_id, method=VerificationMethod.PUSH)
        .first()
    )
    if verification is None:
        return
    may_act = actor.has_capability(Capability.OPERATE_DEVICES)
    is_requester = verification.requested_by_id == actor.pk and not demo_mode
    results = (
        GuardResult(
            CAPABILITY,
            may_act,
            "" if may_act else "Your role may not act as the caller on a device.",
        ),
        GuardResult(
            NOT_REQUESTER,
            not is_requester,
            "You sent this verification push, so only the caller may answer it."
            if is_requester
            else "",
        ),
    )
    failed = [r for r in results if not r.passed]
    if not failed:
        return
    with transaction.atomic():
        _record(
            verification.ticket,
            actor,
            method=VerificationMethod.PUSH,
            result="refused",
            verification=verification,
            detail=failed[0].detail,
            guards=results,
        )
    if failed[0].name == CAPABILITY:
        raise PermissionDenied(failed[0].detail)
    raise IdentityRefused(failed[0].detail, guard=failed[0].name, results=results)


def _conclude(
    verification: IdentityVerification, actor: Staff, push_status: str, detail: str
) -> IdentityVerification:
    """Records the end of a push verification, once even if two pollers race."""
    with transaction.atomic():
        locked = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
        if locked.status != VerificationStatus.PENDING:
            return locked
        now = clock.now()
        locked.result = push_status
        if push_status == PushStatus.APPROVED:
            locked.status = VerificationStatus.VERIFIED
            locked.verified_at = now
            locked.valid_until = now + conf.identity_verification_lifetime()
            result = "verified"
        else:
            locked.status = VerificationStatus.FAILED
            result = push_status  # denied | fraud | timed_out | failed
        locked.save(update_fields=["status", "result", "verified_at", "valid_until"])
        _record(
            locked.ticket,
            actor,
            method=VerificationMethod.PUSH,
            result=result,
            verification=locked,
            detail=detail,
        )
    return locked


def identity_push_refresh(
    *, actor: Staff, verification: IdentityVerification
) -> IdentityVerification:
    """The push verification's current state, asking the MFA service while it is pending.
    Side effects: when the push has been answered or timed out, the verification is
    concluded with an event (exactly once). Raises PermissionDenied, Http404."""
    check = check_access(actor, verification.ticket, Capability.WORK_TICKETS)
    if not check[0].passed:
        raise PermissionDenied(check[0].detail)
    if not check[1].passed:
        raise Http404("No such verification.")
    if verification.status != VerificationStatus.PENDING or not verification.push_id:
        return verification
    try:
        push = get_mfa_service().push_status(push_id=verification.push_id)
    except MFAServiceError:
        return verification  # try again on the next poll
    if push.is_pending:
        return verification
    return _conclude(verification, actor, push.status, push.detail)


def identity_callback_attest(
    *, actor: Staff, ticket: Ticket, phone_number: str, confirmed: bool
) -> IdentityVerification:
    """Records that the technician called `phone_number` — which must be one of the end
    user's numbers of record — and that the person who answered confirmed the request.

    Side effects: a verified IdentityVerification (valid IDENTITY_VERIFICATION_MINUTES) and
    an identity event. Raises PermissionDenied, Http404, IdentityRefused (a number not of
    record, no attestation; recorded)."""
    guards = identity_guards(actor, ticket, VerificationMethod.CALLBACK)
    numbers = phone_numbers_of_record(ticket.end_user)
    problem = ""
    if not numbers:
        problem = "The directory has no phone number for this user; use another method."
    elif phone_number not in numbers:
        problem = "Call back a number of record only, never one the caller gives."
    elif not confirmed:
        problem = "Confirm that the person who answered the callback confirmed the request."
    if problem:
        with transaction.atomic():
            _record(
                ticket,
                actor,
                method=VerificationMethod.CALLBACK,
                result="refused",
                detail=problem,
                guards=(*guards, GuardResult("number_of_record", False, problem)),
            )
        raise IdentityRefused(problem, guard="number_of_record", results=guards)
    with transaction.atomic():
        return _callback_verified(actor, ticket, phone_number, guards)


def _callback_verified(
    actor: Staff, ticket: Ticket, phone_number: str, guards: tuple[GuardResult, ...]
) -> IdentityVerification:
    now = clock.now()
    verification = IdentityVerification.objects.create(
        ticket=ticket,
        end_user_id=ticket.end_user_id,
        method=VerificationMethod.CALLBACK,
        status=VerificationStatus.VERIFIED,
        result="attested",
        phone_number=phone_number,
        requested_by=actor,
        created_at=now,
        verified_at=now,
        valid_until=now + conf.identity_verification_lifetime(),
    )
    _record(
        ticket,
        actor,
        method=VerificationMethod.CALLBACK,
        result="verified",
        verification=verification,
        detail=(
            f"Called back {masked_number(phone_number)} (number of record); the person confirmed."
        ),
        guards=guards,
    )
    return verification


def identity_current(ticket: Ticket) -> IdentityVerification | None:
    """The verification that currently counts on this ticket, if any."""
    return (
        IdentityVerification.objects.filter(
            ticket=ticket,
            end_user_id=ticket.end_user_id,
            status=VerificationStatus.VERIFIED,
            valid_until__gt=clock.now(),
        )
        .order_by("-valid_until")
        .first()
    )


def identity_verify(
    *,
    actor: Staff,
    ticket: Ticket,
    method: str,
    device_id: int | None = None,
    phone_number: str = "",
    confirmed: bool = False,
    reason: str = "",
):
    """One entry point for playbooks: starts (push, supervisor) or records (callback) a
    verification by `method`. Returns the IdentityVerification (push: pending until
    `identity_push_refresh` concludes it; callback: verified) or, for a supervisor, the
    ApprovalRequest. Raises as the method's own service does."""
    if method == VerificationMethod.PUSH:
        if device_id is None:
            raise IdentityRefused("Choose a device for the push.", guard="active_push_device")
        return identity_push_send(actor=actor, ticket=ticket, device_id=device_id)
    if method == VerificationMethod.CALLBACK:
        return identity_callback_attest(
            actor=actor, ticket=ticket, phone_number=phone_number, confirmed=confirmed
        )
    if method == VerificationMethod.SUPERVISOR:
        from enrollment.services.approvals import approval_request_create

        return approval_request_create(actor=actor, ticket=ticket, kind="identity", reason=reason)
    raise IdentityRefused(
        f"{method!r} is not a way to verify a caller (knowledge questions never count).",
        guard="method",
    )
