"""The guardrails every recovery action passes, enforced here and not only in the UI.

`guarded_run()` is the one place the order and the recording happen:

1. capability (PermissionDenied) and administrative unit (Http404): checked first; a refusal
   is still recorded on the ticket before the exception leaves;
2. in one transaction, with the staff member's and the end user's rows locked (so two
   technicians, or two browser tabs, cannot both slip under a limit or both use one
   approval): the ticket is open and about this end user, a reason is given, the actor is not
   acting on their own account, a recent identity verification on this ticket (sensitive
   actions), no open fraud signals (asked of the MFA service), a supervisor's second approval
   (privileged end users on sensitive actions; always for resetting every authenticator), and
   the rate limits;
3. every guard's result goes into the event. If all pass, the action runs and its event is
   written in the same transaction (a failed event write undoes the action); the end user
   is notified by a task after commit. If one fails, nothing of the action is kept, and the
   refusal is recorded in its own transaction so it survives the refusal.

A refusal leaves as RecoveryRefused, whose message is written for the technician.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from enrollment import clock
from enrollment.enums import ApprovalKind, ApprovalStatus, VerificationStatus
from enrollment.mfa import (
    CAPABILITY_DIRECTORY_SYNC,
    MFAServiceError,
    get_mfa_service,
    not_offered_reason,
)
from enrollment.models import ApprovalRequest, EndUser, IdentityVerification
from enrollment.permissions import is_own_account
from enrollment.services import ratelimit
from enrollment.services.events import (
    GuardResultPayload,
    RecoveryActionPayload,
    recovery_event_record,
)
from helpdesk.enums import OPEN_STATUSES
from helpdesk.models import Staff, Ticket
from helpdesk.permissions import end_user_in_scope
from helpdesk.reasons import is_meaningful_reason, reason_problem
from helpdesk.roles import Capability

logger = logging.getLogger(__name__)

# Guard names, as recorded in events and as playbooks (troubleshooting.actions) name them.
CAPABILITY = "capability"
SCOPE = "administrative_unit"
TICKET_OPEN = "ticket_open"
REASON = "reason"
NOT_SELF = "not_self"
IDENTITY = "identity_verified"
NO_FRAUD = "no_open_fraud"
SECOND_APPROVER = "second_approver"
RATE_TECHNICIAN = "rate_limit_technician"
RATE_END_USER = "rate_limit_end_user"
TARGET_OF_END_USER = "target_of_end_user"


@dataclass(frozen=True)
class GuardResult:
    name: str
    passed: bool
    detail: str = ""

    def as_payload(self) -> GuardResultPayload:
        return GuardResultPayload(name=self.name, passed=self.passed, detail=self.detail)


class RecoveryRefused(Exception):
    """A guard (or the action's own precondition) refused a recovery action. The refusal
    has been recorded on the ticket. `guard` names the first guard that failed; `results`
    holds every guard's result; `offer_security_escalation` is set when open fraud signals
    were the reason, so the UI offers escalation to security instead."""

    def __init__(
        self,
        message: str,
        *,
        guard: str,
        results: tuple[GuardResult, ...] = (),
        offer_security_escalation: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.guard = guard
        self.results = results
        self.offer_security_escalation = offer_security_escalation


@dataclass(frozen=True)
class ActionSpec:
    """What a recovery action requires. `sensitive` actions give someone a way in (a code, a
    new registration, an unlock): they need a recent identity verification and, for a
    privileged end user, a second approver. `protective` ones (revoking codes, marking a
    device lost) take access away, so fraud signals do not block them and rate limits do
    not count them."""

    name: str
    label: str  # past tense, for the trail and the end user's notice
    sensitive: bool = False
    always_second_approver: bool = False
    protective: bool = False

    @property
    def needs_identity(self) -> bool:
        return self.sensitive or self.always_second_approver


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("bypass_code_issue", "issued a temporary bypass code", sensitive=True),
        ActionSpec("bypass_codes_revoke", "revoked your bypass codes", protective=True),
        ActionSpec("end_user_re_enroll", "started a new enrollment", sensitive=True),
        ActionSpec("enrollment_email_resend", "sent your enrollment email again"),
        ActionSpec("activation_resend", "sent a new activation link"),
        ActionSpec("authenticator_reset", "reset one of your authenticators", sensitive=True),
        ActionSpec(
            "authenticators_reset_all",
            "reset all your authenticators",
            sensitive=True,
            always_second_approver=True,
        ),
        ActionSpec("token_resync", "resynchronised your code generator"),
        ActionSpec("end_user_unlock", "unlocked your account", sensitive=True),
        ActionSpec("device_mark_lost", "marked one of your devices as lost", protective=True),
        ActionSpec(
            "token_serial_correct", "corrected your hardware token's serial", sensitive=True
        ),
        ActionSpec("contact_number_add", "added a phone number to your account", sensitive=True),
    )
}


@dataclass
class GuardContext:
    """What a passed guard run hands to the action."""

    actor: Staff
    ticket: Ticket
    end_user: EndUser
    reason: str
    spec: ActionSpec
    now: Any
    results: tuple[GuardResult, ...]
    target: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    notify: bool = True


def _record(
    ticket: Ticket,
    actor: Staff,
    spec: ActionSpec,
    *,
    outcome: str,
    reason: str,
    results: tuple[GuardResult, ...],
    message: str = "",
    target: dict[str, Any] | None = None,
):
    return recovery_event_record(
        ticket=ticket,
        actor=actor,
        payload=RecoveryActionPayload(
            action=spec.name,
            outcome=outcome,
            by=actor.username,
            reason=reason,
            message=message,
            target=target or {},
            guards=[r.as_payload() for r in results],
        ),
    )


def _record_refusal(
    ticket: Ticket,
    actor: Staff,
    spec: ActionSpec,
    reason: str,
    refusal: RecoveryRefused,
    target: dict[str, Any],
) -> None:
    with transaction.atomic():
        _record(
            ticket,
            actor,
            spec,
            outcome="refused",
            reason=reason,
            results=refusal.results,
            message=refusal.message,
            target=target,
        )


def check_access(actor: Staff, ticket: Ticket, capability: Capability) -> tuple[GuardResult, ...]:
    """Capability and administrative unit, as guard results (first two of every run)."""
    has_capability = actor.has_capability(capability)
    in_scope = end_user_in_scope(actor, ticket.end_user_id)
    return (
        GuardResult(
            CAPABILITY, has_capability, "" if has_capability else f"Your role lacks {capability}."
        ),
        GuardResult(SCOPE, in_scope, "" if in_scope else "Outside your administrative units."),
    )


def enforce_access(
    actor: Staff,
    ticket: Ticket,
    capability: Capability,
    on_refusal: Callable[[tuple[GuardResult, ...], str], None],
) -> tuple[GuardResult, ...]:
    """Raises PermissionDenied / Http404 after `on_refusal(results, message)` recorded it."""
    results = check_access(actor, ticket, capability)
    if not results[0].passed:
        message = "Your role may not perform recovery actions."
        on_refusal(results, message)
        raise PermissionDenied(message)
    if not results[1].passed:
        on_refusal(results, "The end user is outside your administrative units.")
        raise Http404("No such ticket.")
    return results


def identity_valid_until(ticket: Ticket, now) -> Any:
    """When the latest verification of the caller on this ticket stops counting, or None."""
    return (
        IdentityVerification.objects.filter(
            ticket=ticket,
            end_user_id=ticket.end_user_id,
            status=VerificationStatus.VERIFIED,
            valid_until__gt=now,
        )
        .order_by("-valid_until")
        .values_list("valid_until", flat=True)
        .first()
    )


def second_approval_missing(*, ticket: Ticket, action: str, actor: Staff) -> bool:
    """Whether `action` (a service name in ACTIONS) on this ticket waits for a second staff
    member's approval: always for some actions, for sensitive ones when the end user is
    privileged, and none usable (approved, unexpired, unused, decided by someone else)."""
    spec = ACTIONS.get(action)
    if spec is None:
        return False
    needs = spec.always_second_approver or (spec.sensitive and ticket.end_user.is_privileged)
    return needs and approval_usable(ticket, action, actor, clock.now()) is None


def approval_usable(ticket: Ticket, action: str, actor: Staff, now) -> ApprovalRequest | None:
    """An approved, unexpired, unused second approval for `action` on this ticket, decided
    by someone other than the actor."""
    return (
        ApprovalRequest.objects.filter(
            ticket=ticket,
            end_user_id=ticket.end_user_id,
            kind=ApprovalKind.ACTION,
            action=action,
            status=ApprovalStatus.APPROVED,
            expires_at__gt=now,
        )
        .exclude(decided_by=actor)
        .order_by("decided_at", "id")
        .first()
    )


def _evaluate(
    spec: ActionSpec,
    actor: Staff,
    ticket: Ticket,
    end_user: EndUser,
    reason: str,
    now,
) -> tuple[list[GuardResult], ApprovalRequest | None, bool]:
    results: list[GuardResult] = []
    is_open = ticket.status in OPEN_STATUSES
    results.append(
        GuardResult(
            TICKET_OPEN,
            is_open,
            "" if is_open else f"Ticket #{ticket.pk} is {ticket.status}; reopen it first.",
        )
    )
    results.append(GuardResult(REASON, is_meaningful_reason(reason), reason_problem(reason) or ""))
    own = is_own_account(actor, end_user)
    results.append(
        GuardResult(
            NOT_SELF,
            not own,
            "This is your own account; another technician must help you." if own else "",
        )
    )
    if spec.needs_identity:
        until = identity_valid_until(ticket, now)
        results.append(
            GuardResult(
                IDENTITY,
                until is not None,
                f"Verified until {until:%H:%M:%S} UTC."
                if until
                else (
                    "Verify the caller's identity on this ticket first (verification push, "
                    "callback to the number of record, or a supervisor's approval)."
                ),
            )
        )
    fraud = False
    if not spec.protective:
        try:
            signals = get_mfa_service().fraud_signals(end_user_id=end_user.pk)
        except MFAServiceError as error:
            # Fail closed: an unanswered fraud check is not a clean one.
            results.append(
                GuardResult(NO_FRAUD, False, f"The MFA service could not be asked: {error}")
            )
        else:
            fraud = bool(signals)
            results.append(
                GuardResult(
                    NO_FRAUD,
                    not fraud,
                    (
                        f"{len(signals)} open fraud signal(s): the user reported a sign-in "
                        "request that was not theirs. Escalate to security instead."
                    )
                    if fraud
                    else "",
                )
            )
    approval = None
    needs_second = spec.always_second_approver or (spec.sensitive and end_user.is_privileged)
    if needs_second:
        approval = approval_usable(ticket, spec.name, actor, now)
        why = (
            "resetting every authenticator"
            if spec.always_second_approver
            else (f"{end_user.username} is a privileged end user")
        )
        results.append(
            GuardResult(
                SECOND_APPROVER,
                approval is not None,
                f"Approved by {approval.decided_by.username}."
                if approval
                else f"A supervisor must approve this first ({why}): request approval.",
            )
        )
    if not spec.protective:
        results.extend(ratelimit.check(actor=actor, end_user=end_user, now=now))
    return results, approval, fraud


def _refresh_directory_on_commit(end_user_id: int) -> None:
    """A service that owns the directory (privacyIDEA) is asked for the end user's tokens
    again once the action is committed, so the directory shows what the action did without
    waiting for the next sync. A failed refresh leaves the action done (it is only a read);
    the next sync catches up."""
    if not get_mfa_service().supports(CAPABILITY_DIRECTORY_SYNC):
        return

    def refresh() -> None:
        # Imported here: directory_sync imports the services package, which imports this.
        from enrollment.services.directory_sync import end_user_sync

        end_user = EndUser.objects.filter(pk=end_user_id).first()
        if end_user is None:
            return
        try:
            end_user_sync(end_user=end_user)
        except MFAServiceError:
            logger.warning("directory refresh of end user %s failed", end_user_id, exc_info=True)

    transaction.on_commit(refresh)


def guarded_run[T](
    action: str,
    *,
    actor: Staff,
    ticket: Ticket,
    reason: str,
    target: dict[str, Any] | None = None,
    perform: Callable[[GuardContext], T],
) -> T:
    """Runs `perform(ctx)` behind every guard of `action` (see the module docstring).

    `perform` runs inside the guarded transaction and may raise RecoveryRefused for the
    action's own preconditions (an unexpired activation link …); it may set `ctx.target`
    and `ctx.message` for the event. Raises PermissionDenied, Http404, RecoveryRefused.
    """
    spec = ACTIONS[action]
    reason = (reason or "").strip()
    target = dict(target or {})

    def refuse_access(results: tuple[GuardResult, ...], message: str) -> None:
        with transaction.atomic():
            _record(
                ticket,
                actor,
                spec,
                outcome="refused",
                reason=reason,
                results=results,
                message=message,
                target=target,
            )

    access = enforce_access(actor, ticket, Capability.RECOVERY_ACTIONS, refuse_access)
    not_offered = not_offered_reason(action, get_mfa_service())
    if not_offered is not None:
        refusal = RecoveryRefused(
            not_offered,
            guard="not_offered",
            results=(*access, GuardResult("not_offered", False, not_offered)),
        )
        _record_refusal(ticket, actor, spec, reason, refusal, target)
        raise refusal
    try:
        with transaction.atomic():
            # Lock order: staff, then end user, then (in the event write) the ticket.
            Staff.objects.select_for_update().filter(pk=actor.pk).first()
            end_user = EndUser.objects.select_for_update().get(pk=ticket.end_user_id)
            ticket.refresh_from_db(fields=["status", "end_user_id"])
            now = clock.now()
            checks, approval, fraud = _evaluate(spec, actor, ticket, end_user, reason, now)
            results = (*access, *checks)
            failed = [r for r in results if not r.passed]
            if failed:
                raise RecoveryRefused(
                    failed[0].detail,
                    guard=failed[0].name,
                    results=results,
                    offer_security_escalation=fraud,
                )
            ctx = GuardContext(
                actor=actor,
                ticket=ticket,
                end_user=end_user,
                reason=reason,
                spec=spec,
                now=now,
                results=results,
                target=target,
            )
            try:
                outcome = perform(ctx)
            except MFAServiceError as error:
                raise RecoveryRefused(
                    f"The MFA service could not do this: {error}",
                    guard="mfa_service",
                    results=(*results, GuardResult("mfa_service", False, str(error))),
                ) from error
            except RecoveryRefused as refusal:
                if not refusal.results:
                    refusal.results = (
                        *results,
                        GuardResult(refusal.guard, False, refusal.message),
                    )
                raise
            if approval is not None:
                ApprovalRequest.objects.filter(pk=approval.pk).update(
                    status=ApprovalStatus.USED, used_at=now
                )
                ctx.target["approval_id"] = approval.pk
            event = _record(
                ticket,
                actor,
                spec,
                outcome="done",
                reason=reason,
                results=results,
                message=ctx.message,
                target=ctx.target,
            )
            if ctx.notify:
                from enrollment.services.notify import end_user_notify_on_commit

                end_user_notify_on_commit(event_id=event.pk, end_user_id=event.end_user_id)
            _refresh_directory_on_commit(end_user.pk)
            return outcome
    except RecoveryRefused as refusal:
        if not refusal.results:
            refusal.results = (*access,)
        _record_refusal(ticket, actor, spec, reason, refusal, target)
        raise
    except Http404 as missing:
        # A target that is not this end user's (another user's authenticator or device id):
        # refused like any guard, on the ticket's trail, and still answered as missing.
        message = str(missing) or "No such record for this end user."
        with transaction.atomic():
            _record(
                ticket,
                actor,
                spec,
                outcome="refused",
                reason=reason,
                results=(*access, GuardResult(TARGET_OF_END_USER, False, message)),
                message=message,
                target=target,
            )
        raise
