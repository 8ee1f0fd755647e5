""" "First answered" (Ticket.first_response_at) is when a technician first acted on the ticket:
took it, moved it on, commented, ran a recovery action or verified the caller, started a
guided session. It is stamped once; later acts do not move it, and reading the ticket, handing
it to a colleague or a supervisor's decision do not stamp it."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.urls import reverse

from enrollment import clock
from enrollment.enums import ApprovalKind
from enrollment.services import (
    RecoveryRefused,
    approval_decide,
    approval_request_create,
    bypass_code_issue,
)
from helpdesk.enums import TicketStatus
from helpdesk.models import Ticket
from helpdesk.services.tickets import ticket_assign, ticket_change_status, ticket_comment
from tests.enrollment.recovery_helpers import Desk, desk_fixture, verify_caller  # noqa: F401
from troubleshooting.services import playbook_sync_from_files
from troubleshooting.sessions import session_start

pytestmark = pytest.mark.django_db


def _stamp(desk: Desk):
    return Ticket.objects.values_list("first_response_at", flat=True).get(pk=desk.ticket.pk)


def _take(desk: Desk) -> None:
    ticket_assign(
        actor=desk.technician, ticket=desk.ticket, assignee=desk.technician, expected_version=None
    )


def _move_on(desk: Desk) -> None:
    ticket_change_status(
        actor=desk.technician,
        ticket=desk.ticket,
        status=TicketStatus.IN_PROGRESS,
        expected_version=None,
    )


def _comment(desk: Desk) -> None:
    ticket_comment(actor=desk.technician, ticket=desk.ticket, body="Called back, no answer.")


def _verify_identity(desk: Desk) -> None:
    verify_caller(desk)


def _recovery_action(desk: Desk) -> None:
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason="Phone lost on a trip")


def _start_session(desk: Desk) -> None:
    session_start(actor=desk.technician, ticket=desk.ticket)


ACTS: dict[str, Callable[[Desk], None]] = {
    "assign to self": _take,
    "status change": _move_on,
    "comment": _comment,
    "identity verification": _verify_identity,
    "recovery action": _recovery_action,
    "guided session started": _start_session,
}


@pytest.mark.parametrize("act", list(ACTS))
def test_each_act_stamps_first_answered_once_and_later_acts_do_not_move_it(desk, act):
    playbook_sync_from_files()
    if act == "recovery action":
        # A bypass code needs a verified caller: verified first, then the stamp cleared, so
        # the action is what this case stamps.
        verify_caller(desk)
        Ticket.objects.filter(pk=desk.ticket.pk).update(first_response_at=None)
        desk.ticket.refresh_from_db()
    assert _stamp(desk) is None
    clock.advance(timedelta(minutes=7))

    before = clock.now()
    ACTS[act](desk)

    first = _stamp(desk)
    assert before <= first <= clock.now()
    assert first - desk.ticket.opened_at >= timedelta(minutes=7)
    clock.advance(timedelta(minutes=3))
    _comment(desk)
    if act == "status change":
        _take(desk)
    else:
        _move_on(desk)
    assert _stamp(desk) == first


def test_reading_the_ticket_does_not_stamp_it(desk, client_for):
    client = client_for(desk.technician)
    assert client.get(reverse("helpdesk:ticket-detail", kwargs={"pk": desk.ticket.pk})).status_code
    assert _stamp(desk) is None


def test_handing_the_ticket_to_a_colleague_does_not_stamp_it(desk):
    ticket_assign(
        actor=desk.technician, ticket=desk.ticket, assignee=desk.colleague, expected_version=None
    )
    assert _stamp(desk) is None


def test_a_supervisors_decision_does_not_stamp_it(desk):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )
    assert _stamp(desk) is not None  # asking for an approval is the technician's act
    Ticket.objects.filter(pk=desk.ticket.pk).update(first_response_at=None)
    approval.ticket.refresh_from_db()

    approval_decide(actor=desk.supervisor, approval=approval, approve=True, reason="Known caller")

    assert _stamp(desk) is None


def test_a_refused_recovery_action_does_not_stamp_it(desk):
    """No identity verification yet: the guard refuses, and nothing was done for the caller."""
    with pytest.raises(RecoveryRefused):
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason="Phone lost")

    assert _stamp(desk) is None
