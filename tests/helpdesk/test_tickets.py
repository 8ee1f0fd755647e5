from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404

from enrollment import clock
from helpdesk.enums import EventKind, Outcome, Priority, RootCause, TicketStatus
from helpdesk.models import Ticket, TicketEvent
from helpdesk.roles import Role
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.tickets import (
    StaleTicket,
    TicketError,
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_comment,
    ticket_escalate,
    ticket_resolve,
)
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket


@pytest.fixture
def end_user(technician):
    return end_user_in_unit_of(technician)


@pytest.fixture
def ticket(technician, end_user):
    return open_ticket(technician, end_user)


def kinds(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True)
    )


def test_ticket_open_records_one_opened_event_and_sla(technician, end_user):
    ticket = open_ticket(technician, end_user, priority=Priority.HIGH, assignee=technician)

    assert kinds(ticket) == [EventKind.OPENED]
    event = ticket.events.get()
    assert event.actor == technician
    assert event.end_user_id == end_user.pk
    assert event.payload["assignee"] == technician.username
    assert ticket.status == TicketStatus.NEW
    assert ticket.sla_due_at - ticket.opened_at == timedelta(hours=4)
    assert ticket.chain_seq == 1
    assert ticket.chain_hash == event.hash
    assert ticket.search_text == "Phone shows no prompt dana.lee Dana Lee dana.lee@example.com"


def test_ticket_open_refused_for_roles_without_work_tickets(supervisor, end_user):
    with pytest.raises(PermissionDenied):
        open_ticket(supervisor, end_user)
    assert Ticket.objects.count() == 0


def test_ticket_open_refused_outside_the_actors_units(technician):
    other_group = GroupFactory(name="Elsewhere")
    AdministrativeUnitFactory(name="Mine", groups=[GroupFactory(name="Mine")], staff=[technician])
    outsider_user = EndUserFactory(username="far.away", groups=[other_group])
    with pytest.raises(Http404):
        open_ticket(technician, outsider_user)
    assert Ticket.objects.count() == 0


def test_every_mutation_leaves_exactly_one_event(technician, ticket, user_manager):
    AdministrativeUnitFactory(
        name=f"Unit of {technician.username}", staff=[technician, user_manager]
    )
    ticket_assign(actor=technician, ticket=ticket, assignee=technician, expected_version=1)
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=2
    )
    ticket_comment(actor=technician, ticket=ticket, body="Caller says notifications are off.")
    ticket_change_priority(
        actor=technician, ticket=ticket, priority=Priority.HIGH, expected_version=3
    )
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.WAITING_ON_USER, expected_version=4
    )
    ticket_escalate(actor=technician, ticket=ticket, reason="Needs L2", expected_version=5)
    ticket_resolve(
        actor=user_manager,
        ticket=ticket,
        outcome=Outcome.PROMPT_RESTORED,
        root_causes=[RootCause.PUSH_NOTIFICATIONS_DISABLED],
        expected_version=6,
    )
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.CLOSED, expected_version=7
    )
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=8
    )

    assert kinds(ticket) == [
        EventKind.OPENED,
        EventKind.ASSIGNED,
        EventKind.STATUS_CHANGED,
        EventKind.COMMENTED,
        EventKind.PRIORITY_CHANGED,
        EventKind.STATUS_CHANGED,
        EventKind.ESCALATED,
        EventKind.RESOLVED,
        EventKind.STATUS_CHANGED,
        EventKind.REOPENED,
    ]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.version == 9
    assert ticket.chain_seq == 10
    assert ticket.outcome == ""
    assert audit_chain_verify().ok is True


def test_stale_edit_is_refused_with_a_clear_message(technician, ticket):
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=1
    )
    with pytest.raises(StaleTicket) as excinfo:
        ticket_change_status(
            actor=technician,
            ticket=ticket,
            status=TicketStatus.WAITING_ON_USER,
            expected_version=1,
        )
    assert str(excinfo.value).startswith(
        f"Ticket #{ticket.pk} was changed by {technician.get_full_name()} at "
    )
    assert str(excinfo.value).endswith(
        "after you loaded it, so your change was not saved. Reload the ticket to see what "
        "changed, then try again."
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert kinds(ticket) == [EventKind.OPENED, EventKind.STATUS_CHANGED]


def test_comment_does_not_make_a_colleagues_form_stale(technician, ticket):
    ticket_comment(actor=technician, ticket=ticket, body="Called back, no answer.")
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=1
    )
    assert ticket.version == 2


def test_transition_outside_the_map_is_refused(technician, ticket):
    with pytest.raises(TicketError) as excinfo:
        ticket_change_status(
            actor=technician, ticket=ticket, status=TicketStatus.CLOSED, expected_version=1
        )
    assert str(excinfo.value) == "A new ticket cannot move to closed."
    assert kinds(ticket) == [EventKind.OPENED]


def test_resolve_needs_its_own_service(technician, ticket):
    with pytest.raises(TicketError) as excinfo:
        ticket_change_status(
            actor=technician, ticket=ticket, status=TicketStatus.RESOLVED, expected_version=1
        )
    assert str(excinfo.value) == "Use the Resolve action for that."


def test_first_response_is_taking_the_ticket_not_opening_it(technician, ticket):
    assert ticket.first_response_at is None
    clock.advance(timedelta(minutes=5))
    ticket_assign(actor=technician, ticket=ticket, assignee=technician, expected_version=1)
    ticket.refresh_from_db()
    assert ticket.first_response_at - ticket.opened_at >= timedelta(minutes=5)


def test_assignee_outside_the_end_users_units_is_refused(technician, ticket):
    elsewhere = make_staff(Role.HELPDESK, username="elsewhere")
    AdministrativeUnitFactory(name="Other", groups=[GroupFactory(name="Other")], staff=[elsewhere])
    with pytest.raises(TicketError) as excinfo:
        ticket_assign(actor=technician, ticket=ticket, assignee=elsewhere, expected_version=1)
    assert str(excinfo.value) == "elsewhere does not cover this end user's unit."


def test_failed_event_write_rolls_the_action_back(technician, ticket):
    # Occupy the next sequence number so the event insert hits the unique constraint.
    TicketEvent.objects.create(
        ticket=ticket,
        seq=2,
        kind=EventKind.COMMENTED,
        occurred_at=ticket.opened_at,
        payload={"body": "squatter"},
        prev_hash=ticket.chain_hash,
        hash="f" * 64,
        end_user_id=ticket.end_user_id,
    )
    with pytest.raises(IntegrityError):
        ticket_change_status(
            actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=1
        )
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.version, fresh.chain_seq) == (TicketStatus.NEW, 1, 1)


def test_invalid_payload_rolls_the_action_back(technician, ticket):
    # An over-long comment fails payload validation inside the transaction.
    with pytest.raises(ValueError, match="at most 5000 characters"):
        ticket_comment(actor=technician, ticket=ticket, body="x" * 5001)
    assert kinds(ticket) == [EventKind.OPENED]
