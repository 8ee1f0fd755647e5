"""Every change to a ticket. Each service:

- checks the actor's capability (PermissionDenied) and that the ticket's end user is in the
  actor's administrative units (Http404, so existence is not revealed);
- locks the ticket row, refuses a stale edit (StaleTicket) and an illegal move
  (TicketError), changes the row and bumps ``version``;
- appends exactly one event to the ticket's chain in the same transaction, so a failed
  event write rolls the change back;
- when the change can move a dashboard figure (opened, status, escalated, resolved), brings
  the dashboard's aggregates in line in the same transaction (helpdesk.services.dashboard).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from enrollment.models import EndUser
from helpdesk.enums import (
    DEDICATED_TRANSITIONS,
    SLA_BY_PRIORITY,
    Category,
    Channel,
    EventKind,
    Outcome,
    Priority,
    RootCause,
    TicketStatus,
    Tier,
    can_transition,
)
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.permissions import end_user_in_scope
from helpdesk.reasons import is_meaningful_reason, reason_problem
from helpdesk.roles import Capability
from helpdesk.services.audit import (
    AssignedPayload,
    CommentedPayload,
    EscalatedPayload,
    OpenedPayload,
    PriorityChangedPayload,
    ReopenedPayload,
    ResolvedPayload,
    StatusChangedPayload,
    canonical_time,
    now,
    ticket_event_record,
)
from helpdesk.services.dashboard import dashboard_ticket_refresh


class TicketError(Exception):
    """A refused ticket change; the message is written for the technician."""


class StaleTicket(TicketError):
    """The ticket changed since the actor loaded it."""


def sla_due(priority: str, opened_at: datetime) -> datetime:
    return opened_at + SLA_BY_PRIORITY[priority]


def _require(actor: Staff, capability: Capability) -> None:
    if not actor.has_capability(capability):
        raise PermissionDenied(f"Your role may not do this ({capability}).")


def _require_scope(actor: Staff, end_user_id: int) -> None:
    if not end_user_in_scope(actor, end_user_id):
        raise Http404("No such ticket.")


def _lock(actor: Staff, ticket: Ticket, expected_version: int | None) -> tuple[Ticket, datetime]:
    """Scope check, then the ticket row locked and re-read, then the version compared."""
    _require_scope(actor, ticket.end_user_id)
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and locked.version != expected_version:
        last = (
            TicketEvent.objects.filter(ticket=locked)
            .select_related("actor")
            .order_by("-seq")
            .first()
        )
        who = "someone"
        if last is not None:
            who = (
                (last.actor.get_full_name() or last.actor.username) if last.actor else "the system"
            )
        when = f" at {last.occurred_at:%H:%M:%S} UTC" if last is not None else ""
        raise StaleTicket(
            f"Ticket #{locked.pk} was changed by {who}{when} after you loaded it, so your "
            "change was not saved. Reload the ticket to see what changed, then try again."
        )
    return locked, now()


def _save(ticket: Ticket, moment: datetime, *fields: str) -> None:
    ticket.version += 1
    ticket.updated_at = moment
    ticket.save(update_fields=[*fields, "version", "updated_at"])


def _mark_first_response(ticket: Ticket, moment: datetime) -> list[str]:
    # "First answered": the first time a technician acts on the ticket after opening it:
    # takes it (assigns it to themself), moves it on, comments, escalates or resolves, runs a
    # recovery action or starts a guided session (ticket_first_response_mark). Reading the
    # ticket, or handing it to someone else, does not count.
    if ticket.first_response_at is None:
        ticket.first_response_at = moment
        return ["first_response_at"]
    return []


def ticket_first_response_mark(*, ticket: Ticket, actor: Staff | None) -> bool:
    """Stamps "first answered" on a ticket a technician acted on outside the ticket services
    (a recovery action, an identity verification, a guided session started), unless it is
    stamped already. One conditional UPDATE, no version bump: it never makes a colleague's
    open form stale. Someone who does not work tickets (a supervisor deciding an approval,
    the system) does not answer the ticket. Returns whether it stamped."""
    if actor is None or not actor.has_capability(Capability.WORK_TICKETS):
        return False
    if ticket.first_response_at is not None:  # never cleared once set: no query needed
        return False
    moment = now()
    stamped = Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(
        first_response_at=moment
    )
    if stamped:
        ticket.first_response_at = moment
    return bool(stamped)


def _sync(target: Ticket, source: Ticket) -> Ticket:
    """Copies the saved state onto the caller's instance, so it is not left stale."""
    for field in Ticket._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def _search_text(subject: str, end_user: EndUser) -> str:
    return " ".join(
        part for part in (subject, end_user.username, end_user.full_name, end_user.email) if part
    )


@transaction.atomic
def ticket_open(
    *,
    actor: Staff,
    end_user: EndUser,
    subject: str,
    category: str,
    channel: str,
    priority: str = Priority.NORMAL,
    description: str = "",
    assignee: Staff | None = None,
) -> Ticket:
    """Opens a ticket for an end user in the actor's scope. Event: ticket.opened (with the
    assignee, when one is given: still one event). Raises PermissionDenied, Http404,
    TicketError (bad assignee, bad vocabulary)."""
    _require(actor, Capability.WORK_TICKETS)
    _require_scope(actor, end_user.pk)
    if category not in Category.values or channel not in Channel.values:
        raise TicketError("Unknown category or channel.")
    if priority not in Priority.values:
        raise TicketError("Unknown priority.")
    if assignee is not None:
        _check_assignee(assignee, end_user.pk)
    moment = now()
    ticket = Ticket.objects.create(
        end_user=end_user,
        subject=subject.strip(),
        description=description.strip(),
        category=category,
        channel=channel,
        priority=priority,
        status=TicketStatus.NEW,
        assignee=assignee,
        opened_by=actor,
        opened_at=moment,
        updated_at=moment,
        sla_due_at=sla_due(priority, moment),
        search_text=_search_text(subject.strip(), end_user),
    )
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.OPENED,
        actor=actor,
        payload=OpenedPayload(
            subject=ticket.subject,
            category=category,
            channel=channel,
            priority=priority,
            assignee_id=assignee.pk if assignee else None,
            assignee=assignee.username if assignee else None,
            sla_due_at=canonical_time(ticket.sla_due_at),
        ),
        occurred_at=moment,
    )
    dashboard_ticket_refresh(ticket.pk)
    return ticket


def _check_assignee(assignee: Staff, end_user_id: int) -> None:
    if not assignee.has_capability(Capability.WORK_TICKETS):
        raise TicketError(f"{assignee.username} cannot work tickets.")
    if not end_user_in_scope(assignee, end_user_id):
        raise TicketError(f"{assignee.username} does not cover this end user's unit.")


@transaction.atomic
def ticket_assign(
    *, actor: Staff, ticket: Ticket, assignee: Staff | None, expected_version: int | None
) -> Ticket:
    """Assigns the ticket (None = unassign). Event: ticket.assigned. Raises
    PermissionDenied, Http404, StaleTicket, TicketError (closed ticket, unfit assignee,
    no change)."""
    _require(actor, Capability.WORK_TICKETS)
    locked, moment = _lock(actor, ticket, expected_version)
    if locked.status == TicketStatus.CLOSED:
        raise TicketError("A closed ticket cannot be reassigned; reopen it first.")
    if assignee is not None:
        _check_assignee(assignee, locked.end_user_id)
    new_id = assignee.pk if assignee else None
    if new_id == locked.assignee_id:
        raise TicketError("The ticket is already assigned that way.")
    previous = locked.assignee
    locked.assignee = assignee
    # Taking the ticket is answering it; handing it to a colleague is not.
    taken = _mark_first_response(locked, moment) if new_id == actor.pk else []
    _save(locked, moment, "assignee", *taken)
    ticket_event_record(
        ticket=locked,
        kind=EventKind.ASSIGNED,
        actor=actor,
        payload=AssignedPayload(
            from_assignee_id=previous.pk if previous else None,
            to_assignee_id=new_id,
            from_assignee=previous.username if previous else None,
            to_assignee=assignee.username if assignee else None,
        ),
        occurred_at=moment,
    )
    return _sync(ticket, locked)


@transaction.atomic
def ticket_change_status(
    *,
    actor: Staff,
    ticket: Ticket,
    status: str,
    expected_version: int | None,
    note: str = "",
) -> Ticket:
    """Moves the ticket along the transition map (helpdesk.enums.TRANSITIONS). Escalating and
    resolving need their own services (a reason, an outcome). Moving a resolved or closed
    ticket back to in_progress is a reopen: event ticket.reopened, a fresh SLA deadline and
    the outcome cleared; otherwise event ticket.status_changed. Raises PermissionDenied,
    Http404, StaleTicket, TicketError (move not allowed)."""
    _require(actor, Capability.WORK_TICKETS)
    locked, moment = _lock(actor, ticket, expected_version)
    current = locked.status
    if status in DEDICATED_TRANSITIONS:
        raise TicketError(f"Use the {DEDICATED_TRANSITIONS[status]} action for that.")
    if not can_transition(current, status):
        raise TicketError(
            f"A {TicketStatus(current).label.lower()} ticket cannot move to "
            f"{TicketStatus(status).label.lower() if status in TicketStatus.values else status}."
        )
    fields = ["status", *_mark_first_response(locked, moment)]
    locked.status = status
    reopen = (
        current in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        and status == TicketStatus.IN_PROGRESS
    )
    if reopen:
        locked.outcome = ""
        locked.resolved_at = None
        locked.closed_at = None
        locked.sla_due_at = sla_due(locked.priority, moment)
        locked.sla_breached_at = None
        fields += ["outcome", "resolved_at", "closed_at", "sla_due_at", "sla_breached_at"]
    elif status == TicketStatus.CLOSED:
        locked.closed_at = moment
        fields.append("closed_at")
    _save(locked, moment, *fields)
    if reopen:
        kind, payload = EventKind.REOPENED, ReopenedPayload(from_status=current, note=note)
    else:
        kind = EventKind.STATUS_CHANGED
        payload = StatusChangedPayload(from_status=current, to_status=status, note=note)
    ticket_event_record(ticket=locked, kind=kind, actor=actor, payload=payload, occurred_at=moment)
    dashboard_ticket_refresh(locked.pk)
    return _sync(ticket, locked)


@transaction.atomic
def ticket_change_priority(
    *, actor: Staff, ticket: Ticket, priority: str, expected_version: int | None
) -> Ticket:
    """Changes the priority; the SLA deadline is recomputed from the opening time. Event:
    ticket.priority_changed. Raises PermissionDenied, Http404, StaleTicket, TicketError."""
    _require(actor, Capability.WORK_TICKETS)
    locked, moment = _lock(actor, ticket, expected_version)
    if priority not in Priority.values or priority == locked.priority:
        raise TicketError("Choose a different priority.")
    if locked.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise TicketError("A resolved or closed ticket keeps its priority.")
    previous = locked.priority
    locked.priority = priority
    locked.sla_due_at = sla_due(priority, locked.opened_at)
    _save(locked, moment, "priority", "sla_due_at")
    ticket_event_record(
        ticket=locked,
        kind=EventKind.PRIORITY_CHANGED,
        actor=actor,
        payload=PriorityChangedPayload(
            from_priority=previous,
            to_priority=priority,
            sla_due_at=canonical_time(locked.sla_due_at),
        ),
        occurred_at=moment,
    )
    return _sync(ticket, locked)


@transaction.atomic
def ticket_comment(*, actor: Staff, ticket: Ticket, body: str) -> TicketEvent:
    """Adds an internal comment (staff only; never shown to the end user). Comments do not
    conflict with other edits, so they take no version. Event: ticket.commented. Raises
    PermissionDenied, Http404, TicketError (empty)."""
    _require(actor, Capability.WORK_TICKETS)
    body = body.strip()
    if not body:
        raise TicketError("A comment cannot be empty.")
    locked, moment = _lock(actor, ticket, None)
    # No version bump: a colleague's comment must not turn someone's open form stale.
    locked.updated_at = moment
    locked.save(update_fields=["updated_at", *_mark_first_response(locked, moment)])
    event = ticket_event_record(
        ticket=locked,
        kind=EventKind.COMMENTED,
        actor=actor,
        payload=CommentedPayload(body=body),
        occurred_at=moment,
    )
    _sync(ticket, locked)
    return event


@transaction.atomic
def ticket_escalate(
    *,
    actor: Staff,
    ticket: Ticket,
    reason: str,
    expected_version: int | None,
    to_tier: int = Tier.L2,
) -> Ticket:
    """Escalates to a higher tier (2, or 3 = security). Event: ticket.escalated. Raises
    PermissionDenied, Http404, StaleTicket, TicketError (not allowed from this status, no
    reason, not a higher tier)."""
    _require(actor, Capability.WORK_TICKETS)
    reason = reason.strip()
    if not is_meaningful_reason(reason):
        raise TicketError(reason_problem(reason) or "")
    locked, moment = _lock(actor, ticket, expected_version)
    return _sync(ticket, _escalate(locked, moment, actor, reason, to_tier, automatic=False))


def _escalate(
    locked: Ticket,
    moment: datetime,
    actor: Staff | None,
    reason: str,
    to_tier: int,
    automatic: bool,
) -> Ticket:
    current = locked.status
    if current == TicketStatus.ESCALATED and to_tier <= locked.tier:
        raise TicketError("The ticket is already escalated to that tier.")
    if current != TicketStatus.ESCALATED and not can_transition(current, TicketStatus.ESCALATED):
        raise TicketError(f"A {TicketStatus(current).label.lower()} ticket cannot be escalated.")
    if to_tier not in Tier.values or to_tier < locked.tier:
        raise TicketError("Escalate to a higher tier.")
    previous_tier = locked.tier
    locked.status = TicketStatus.ESCALATED
    locked.tier = max(to_tier, locked.tier)
    fields = ["status", "tier"]
    if actor is not None:
        fields += _mark_first_response(locked, moment)
    if automatic:
        locked.sla_breached_at = moment
        fields.append("sla_breached_at")
    _save(locked, moment, *fields)
    ticket_event_record(
        ticket=locked,
        kind=EventKind.ESCALATED,
        actor=actor,
        payload=EscalatedPayload(
            from_status=current,
            from_tier=previous_tier,
            to_tier=locked.tier,
            reason=reason,
            automatic=automatic,
        ),
        occurred_at=moment,
    )
    dashboard_ticket_refresh(locked.pk)
    return locked


@transaction.atomic
def ticket_resolve(
    *,
    actor: Staff,
    ticket: Ticket,
    outcome: str,
    root_causes: list[str],
    expected_version: int | None,
    note: str = "",
) -> Ticket:
    """Resolves the ticket with an outcome and the root causes found (in order). Event:
    ticket.resolved. Raises PermissionDenied, Http404, StaleTicket, TicketError."""
    _require(actor, Capability.WORK_TICKETS)
    if outcome not in Outcome.values:
        raise TicketError("Choose an outcome.")
    unknown = [c for c in root_causes if c not in RootCause.values]
    if unknown:
        raise TicketError(f"Unknown root cause: {', '.join(unknown)}.")
    locked, moment = _lock(actor, ticket, expected_version)
    current = locked.status
    if not can_transition(current, TicketStatus.RESOLVED):
        raise TicketError(f"A {TicketStatus(current).label.lower()} ticket cannot be resolved.")
    locked.status = TicketStatus.RESOLVED
    locked.outcome = outcome
    locked.root_causes = list(dict.fromkeys(root_causes))
    locked.resolved_at = moment
    fields = ["status", "outcome", "root_causes", "resolved_at"]
    fields += _mark_first_response(locked, moment)
    _save(locked, moment, *fields)
    ticket_event_record(
        ticket=locked,
        kind=EventKind.RESOLVED,
        actor=actor,
        payload=ResolvedPayload(
            from_status=current, outcome=outcome, root_causes=locked.root_causes, note=note
        ),
        occurred_at=moment,
    )
    dashboard_ticket_refresh(locked.pk)
    return _sync(ticket, locked)


def ticket_sla_escalate_overdue(*, batch_size: int = 200) -> list[int]:
    """Escalates every open, not yet escalated ticket whose SLA deadline has passed, as the
    system (actor None), one transaction per ticket. Idempotent: a breached ticket is marked
    (``sla_breached_at``) and escalated, so a second run finds nothing; rows another worker
    holds are skipped, not waited on. Returns the escalated ticket ids. Event per ticket:
    ticket.escalated with automatic=True."""
    escalated: list[int] = []
    while True:
        with transaction.atomic():
            moment = now()
            batch = list(
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(
                    status__in=[
                        TicketStatus.NEW,
                        TicketStatus.IN_PROGRESS,
                        TicketStatus.WAITING_ON_USER,
                    ],
                    sla_breached_at__isnull=True,
                    sla_due_at__lte=moment,
                )
                .order_by("sla_due_at")[:batch_size]
            )
            for locked in batch:
                _escalate(
                    locked,
                    moment,
                    None,
                    f"SLA deadline passed ({canonical_time(locked.sla_due_at)}).",
                    max(locked.tier, Tier.L2),
                    automatic=True,
                )
                escalated.append(locked.pk)
        if len(batch) < batch_size:
            return escalated
