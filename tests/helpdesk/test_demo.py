"""The demo's worked cases are valid data: every guided session was worked through the
session services (its state is one the wizard can show and replay), and every page of every
seeded ticket answers without a server error for every demo login."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from helpdesk.demo import DEMO_STAFF, HISTORY_PREFIX
from helpdesk.models import Staff, Ticket
from tests.conftest import sign_in
from troubleshooting import engine
from troubleshooting.models import GuidedSession
from troubleshooting.sessions import session_frame

TICKET_PAGES = (
    "helpdesk:ticket-detail",
    "helpdesk:ticket-mfa-picture",
    "troubleshooting:ticket",
    "enrollment:ticket-actions",
)


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--users", "3")


def _seeded_tickets():
    return list(Ticket.objects.filter(end_user__username__startswith=HISTORY_PREFIX).order_by("pk"))


def test_the_demo_sessions_are_sessions_the_wizard_can_read(demo):
    sessions = list(GuidedSession.objects.select_related("version"))
    assert {s.status for s in sessions} == {"ended", "abandoned"}
    for session in sessions:
        frame = session_frame(session)
        # A real engine state: the node it stood at belongs to its playbook.
        assert frame.definition.node(frame.state.node).id == frame.state.node
        assert isinstance(frame.state, engine.SessionState)
        assert session.steps.count() >= 1
        if session.status == "ended":
            assert session.outcome != "abandoned"
            assert session.root_causes
        else:
            assert session.outcome == "abandoned"


def test_the_open_demo_tickets_carry_abandoned_sessions(demo):
    open_tickets = [t for t in _seeded_tickets() if t.status in ("new", "in_progress")]
    assert len(open_tickets) == 2
    for ticket in open_tickets:
        session = GuidedSession.objects.get(ticket=ticket)
        assert session.status == "abandoned"


def test_every_page_of_every_seeded_ticket_answers_for_every_role(demo):
    tickets = _seeded_tickets()
    assert len(tickets) == 12
    seen: dict[str, set[tuple[str, int]]] = {}
    for person in DEMO_STAFF:
        client = sign_in(Client(), Staff.objects.get(username=person.username))
        for ticket in tickets:
            for name in TICKET_PAGES:
                kwarg = "pk" if name.startswith("helpdesk:") else "ticket_pk"
                url = reverse(name, kwargs={kwarg: ticket.pk})
                response = client.get(url)
                # Out of the login's unit: 404; without the role: 403; never a 500.
                assert response.status_code in (200, 403, 404), (person.username, url)
                seen.setdefault(person.username, set()).add((name, response.status_code))
    # The technicians' own tickets open fully for them and for the owner.
    for username in ("tech", "owner"):
        assert {status for _, status in seen[username]} == {200}, username
    # The field technician's unit holds some of the callers, not all of them.
    assert {status for _, status in seen["tech.field"]} == {200, 404}
