"""Supervisor approvals: of a caller's identity, and as the second approver of a recovery
action (privileged end users; resetting every authenticator).

A technician requests; a supervisor (Capability.APPROVE_SENSITIVE) in the same
administrative units approves or denies with a reason. Nobody decides their own request or a
request about their own account. An approved identity request becomes a verified
IdentityVerification on the ticket; an approved action request is used up by the action it
approves (enrollment.services.guards), within RECOVERY_APPROVAL_MINUTES.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.http import Http404

from enrollment import clock, conf, mfa
from enrollment.enums import (
    ApprovalKind,
    ApprovalStatus,
    VerificationMethod,
    VerificationStatus,
)
from enrollment.models import ApprovalRequest, IdentityVerification
from enrollment.permissions import is_own_account
from enrollment.services.events import (
    IdentityPayload,
    RecoveryActionPayload,
    identity_event_record,
    recovery_event_record,
)
from enrollment.services.guards import (
    ACTIONS,
    REASON,
    GuardResult,
    RecoveryRefused,
    check_access,
)
from enrollment.services.identity import identity_guards
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.permissions import end_user_in_scope
from helpdesk.reasons import is_meaningful_reason, reason_problem
from helpdesk.roles import Capability
from helpdesk.scoping import end_user_scope_q


def _record(
    approval: ApprovalRequest,
    actor: Staff,
    result: str,
    *,
    detail: str = "",
    reason: str = "",
    guards: tuple[GuardResult, ...] = (),
    verification: IdentityVerification | None = None,
) -> None:
    guard_payloads = [g.as_payload() for g in guards]
    if approval.kind == ApprovalKind.IDENTITY:
        identity_event_record(
            ticket=approval.ticket,
            actor=actor,
            payload=IdentityPayload(
                method=VerificationMethod.SUPERVISOR,
                result=result,
                by=actor.username,
                approval_id=approval.pk,
                verification_id=verification.pk if verification else None,
                valid_until=(
                    verification.valid_until.isoformat()
                    if verification and verification.valid_until
                    else None
                ),
                reason=reason,
                detail=detail,
                guards=guard_payloads,
            ),
        )
    else:
        recovery_event_record(
            ticket=approval.ticket,
            actor=actor,
            payload=RecoveryActionPayload(
                action=approval.action,
                outcome=f"approval_{result}",
                by=actor.username,
                reason=reason,
                message=detail,
                target={"approval_id": approval.pk},
                guards=guard_payloads,
            ),
        )


def approval_request_create(
    *, actor: Staff, ticket: Ticket, kind: str, reason: str, action: str = ""
) -> ApprovalRequest:
    """Asks a supervisor to approve the caller's identity (kind=identity) or one recovery
    action (kind=action, `action` naming it). A pending request of the same kind and action
    on the ticket is returned instead of a second one.

    Side effects: an ApprovalRequest and an event. Raises PermissionDenied, Http404,
    RecoveryRefused (no reason, unknown action, own account, closed ticket; recorded)."""
    reason = (reason or "").strip()
    if kind == ApprovalKind.ACTION:
        if action not in ACTIONS:
            raise RecoveryRefused(f"Unknown action {action!r}.", guard="action")
        capability = Capability.RECOVERY_ACTIONS
    else:
        kind, action, capability = ApprovalKind.IDENTITY, "", Capability.WORK_TICKETS
    draft = ApprovalRequest(ticket=ticket, kind=kind, action=action)

    def refuse(results: tuple[GuardResult, ...], detail: str) -> None:
        _record(draft, actor, "refused", detail=detail, reason=reason, guards=results)

    guards = identity_guards(
        actor, ticket, VerificationMethod.SUPERVISOR, capability, on_refusal=refuse
    )
    if not is_meaningful_reason(reason):
        detail = reason_problem(reason) or ""
        with transaction.atomic():
            _record(
                draft,
                actor,
                "refused",
                detail=detail,
                guards=(*guards, GuardResult(REASON, False, detail)),
            )
        raise RecoveryRefused(detail, guard=REASON, results=guards)
    with transaction.atomic():
        existing = ApprovalRequest.objects.filter(
            ticket=ticket, kind=kind, action=action, status=ApprovalStatus.PENDING
        ).first()
        if existing is not None:
            return existing
        approval = ApprovalRequest.objects.create(
            ticket=ticket,
            end_user_id=ticket.end_user_id,
            kind=kind,
            action=action,
            requested_by=actor,
            reason=reason[:300],
            created_at=clock.now(),
        )
        _record(approval, actor, "requested", reason=reason, guards=guards)
    return approval


def approval_decide(
    *, actor: Staff, approval: ApprovalRequest, approve: bool, reason: str
) -> ApprovalRequest:
    """A supervisor approves or denies a pending request, with a reason.

    Side effects: the request's decision; for an approved identity request a verified
    IdentityVerification (valid IDENTITY_VERIFICATION_MINUTES on that ticket); an event.
    Raises PermissionDenied (role), Http404 (unit), RecoveryRefused (not pending, own
    request, own account, no reason; recorded)."""
    reason = (reason or "").strip()
    results = check_access(actor, approval.ticket, Capability.APPROVE_SENSITIVE)
    if not results[0].passed:
        with transaction.atomic():
            _record(approval, actor, "refused", detail=results[0].detail, guards=results)
        raise PermissionDenied(results[0].detail)
    if not results[1].passed:
        # Still answered as missing, but the attempt is on the ticket's trail.
        with transaction.atomic():
            _record(
                approval,
                actor,
                "refused",
                detail="The end user is outside your administrative units.",
                guards=results,
            )
        raise Http404("No such approval request.")
    with transaction.atomic():
        locked = (
            ApprovalRequest.objects.select_for_update()
            .select_related("ticket", "end_user")
            .get(pk=approval.pk)
        )
        checks = (
            GuardResult(
                "pending",
                locked.status == ApprovalStatus.PENDING,
                "" if locked.status == ApprovalStatus.PENDING else f"Already {locked.status}.",
            ),
            GuardResult(
                "not_requester",
                locked.requested_by_id != actor.pk,
                "You asked for this approval; another supervisor must decide it."
                if locked.requested_by_id == actor.pk
                else "",
            ),
            GuardResult(
                "not_self",
                not is_own_account(actor, locked.end_user),
                "This request concerns your own account."
                if is_own_account(actor, locked.end_user)
                else "",
            ),
            GuardResult(REASON, is_meaningful_reason(reason), reason_problem(reason) or ""),
        )
        all_results = (*results, *checks)
        failed = [c for c in checks if not c.passed]
        if not failed:
            now = clock.now()
            locked.decided_by = actor
            locked.decided_at = now
            locked.decision_reason = reason[:300]
            verification = None
            if not approve:
                locked.status = ApprovalStatus.DENIED
            elif locked.kind == ApprovalKind.IDENTITY:
                locked.status = ApprovalStatus.USED
                locked.used_at = now
                verification = IdentityVerification.objects.create(
                    ticket=locked.ticket,
                    end_user=locked.end_user,
                    method=VerificationMethod.SUPERVISOR,
                    status=VerificationStatus.VERIFIED,
                    result="approved",
                    requested_by=locked.requested_by,
                    decided_by=actor,
                    reason=reason[:300],
                    created_at=locked.created_at,
                    verified_at=now,
                    valid_until=now + conf.identity_verification_lifetime(),
                )
            else:
                locked.status = ApprovalStatus.APPROVED
                locked.expires_at = now + conf.approval_lifetime()
            locked.save()
            result = (
                ("verified" if locked.kind == ApprovalKind.IDENTITY else "approved")
                if (approve)
                else "denied"
            )
            _record(
                locked,
                actor,
                result,
                reason=reason,
                guards=all_results,
                verification=verification,
                detail=f"{'Approved' if approve else 'Denied'} by {actor.username}.",
            )
            return locked
    with transaction.atomic():
        _record(locked, actor, "refused", detail=failed[0].detail, guards=all_results)
    raise RecoveryRefused(failed[0].detail, guard=failed[0].name, results=all_results)


def approvals_pending_visible_to(staff: Staff) -> QuerySet[ApprovalRequest]:
    """Pending requests about end users in the staff member's units, oldest first."""
    rows = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
    scope = end_user_scope_q(staff, groups_path="end_user__groups")
    if scope:
        rows = rows.filter(pk__in=ApprovalRequest.objects.filter(scope).values("pk"))
    return rows.select_related("ticket", "end_user", "requested_by").order_by("created_at", "id")


def approvals_pending_count_for(staff: Staff) -> int:
    """How many pending requests the staff member may decide: in their units, neither asked
    by them nor about their own account (approval_decide refuses both). One COUNT query
    (the unit's group ids are read once per request and shared with the page's selectors)."""
    rows = approvals_pending_visible_to(staff).exclude(requested_by=staff)
    if staff.directory_identity_id is not None:
        rows = rows.exclude(end_user_id=staff.directory_identity_id)
    return rows.order_by().count()


def approval_get_for_decision(pk: int) -> ApprovalRequest:
    """The request a decision names, whoever may see it: approval_decide itself refuses
    (and records on the ticket) a decider outside the end user's units. Raises Http404
    when there is no such request."""
    approval = (
        ApprovalRequest.objects.select_related("ticket", "end_user", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if approval is None:
        raise Http404("No such approval request.")
    return approval


def approval_get_visible(staff: Staff, pk: int) -> ApprovalRequest:
    """One approval request the staff member may see. Raises Http404 otherwise."""
    approval = (
        ApprovalRequest.objects.select_related("ticket", "end_user", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if approval is None or not end_user_in_scope(staff, approval.end_user_id):
        raise Http404("No such approval request.")
    return approval


# How many of the ticket's latest events each pending request shows.
APPROVAL_RECENT_EVENTS = 5


@dataclass
class ApprovalContext:
    """What a supervisor reads before deciding: the request and its ticket's situation."""

    approval: ApprovalRequest
    privileged: bool
    verifications: list[IdentityVerification]
    events: list[TicketEvent]
    fraud_signals: list[mfa.FraudSignal] | None  # None: the MFA service did not answer
    fraud_error: str = ""


def approval_contexts(approvals: list[ApprovalRequest]) -> list[ApprovalContext]:
    """The full ticket context of each request, for the approvals queue.

    A fixed number of queries whatever the number of requests (groups for the privileged
    flag, verifications, the latest events per ticket) and one question to the MFA service
    about the end users' open fraud signals."""
    if not approvals:
        return []
    prefetch_related_objects(approvals, "end_user__groups")
    ticket_ids = {a.ticket_id for a in approvals}
    verifications: dict[int, list[IdentityVerification]] = defaultdict(list)
    for row in IdentityVerification.objects.filter(ticket_id__in=ticket_ids).select_related(
        "requested_by", "decided_by"
    ):
        verifications[row.ticket_id].append(row)
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for row in (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids)
        .annotate(
            recent=Window(RowNumber(), partition_by=[F("ticket_id")], order_by=F("seq").desc())
        )
        .filter(recent__lte=APPROVAL_RECENT_EVENTS)
        .select_related("actor")
        .order_by("ticket_id", "-seq")
    ):
        events[row.ticket_id].append(row)
    end_user_ids = sorted({a.end_user_id for a in approvals})
    try:
        found = mfa.get_mfa_service().fraud_signals_of(end_user_ids=end_user_ids)
        signals = {pk: (found.get(pk, []), "") for pk in end_user_ids}
    except mfa.MFAServiceError as error:
        signals = {pk: (None, str(error)) for pk in end_user_ids}

    return [
        ApprovalContext(
            approval=a,
            privileged=a.end_user.is_privileged,
            verifications=verifications[a.ticket_id],
            events=events[a.ticket_id],
            fraud_signals=signals[a.end_user_id][0],
            fraud_error=signals[a.end_user_id][1],
        )
        for a in approvals
    ]
