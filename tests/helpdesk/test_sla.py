from datetime import timedelta

from enrollment import clock
from helpdesk.enums import EventKind, Priority, TicketStatus
from helpdesk.models import TicketEvent
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.tickets import ticket_change_status, ticket_resolve
from helpdesk.tasks import escalate_overdue_tickets
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket


def test_overdue_tickets_are_escalated_once_by_the_system(technician):
    end_user = end_user_in_unit_of(technician)
    urgent = open_ticket(technician, end_user, priority=Priority.URGENT)  # due in 1 hour
    normal = open_ticket(technician, end_user, priority=Priority.NORMAL)  # due in 8 hours
    resolved = open_ticket(technician, end_user, priority=Priority.URGENT)
    ticket_resolve(
        actor=technician,
        ticket=resolved,
        outcome="working_as_designed",
        root_causes=[],
        expected_version=1,
    )
    clock.advance(timedelta(hours=2))

    assert escalate_overdue_tickets() == 1
    assert escalate_overdue_tickets() == 0  # idempotent

    urgent.refresh_from_db()
    normal.refresh_from_db()
    assert (urgent.status, urgent.tier) == (TicketStatus.ESCALATED, 2)
    assert urgent.sla_breached_at is not None
    assert normal.status == TicketStatus.NEW
    event = TicketEvent.objects.filter(ticket=urgent).order_by("-seq").first()
    assert (event.kind, event.actor, event.payload["automatic"]) == (
        EventKind.ESCALATED,
        None,
        True,
    )
    assert TicketEvent.objects.filter(kind=EventKind.ESCALATED).count() == 1
    assert audit_chain_verify().ok is True


def test_reopened_ticket_gets_a_fresh_deadline(technician):
    end_user = end_user_in_unit_of(technician)
    ticket = open_ticket(technician, end_user, priority=Priority.URGENT)
    clock.advance(timedelta(hours=2))
    escalate_overdue_tickets()
    ticket_resolve(
        actor=technician,
        ticket=ticket,
        outcome="prompt_restored",
        root_causes=[],
        expected_version=2,
    )
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=3
    )
    ticket.refresh_from_db()
    assert ticket.sla_breached_at is None
    assert ticket.sla_due_at == ticket.updated_at + timedelta(hours=1)
    assert escalate_overdue_tickets() == 0
    clock.advance(timedelta(hours=2))
    assert escalate_overdue_tickets() == 1
