import csv
import io
from datetime import timedelta

import pgtrigger
import pytest
from django.urls import reverse

from enrollment import clock
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_comment
from helpdesk.tasks import verify_audit_chains
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

REVIEW = reverse("helpdesk:audit-review")
EXPORT = reverse("helpdesk:audit-export")


@pytest.fixture
def trail(technician, supervisor):
    """Two tickets in the supervisor's unit, by two technicians, a day apart."""
    end_user = end_user_in_unit_of(technician)
    colleague = make_staff(Role.HELPDESK, username="colleague")
    AdministrativeUnitFactory(
        name=f"Unit of {technician.username}", staff=[technician, supervisor, colleague]
    )
    first = open_ticket(technician, end_user, subject="First")
    ticket_comment(actor=technician, ticket=first, body="Called back")
    clock.advance(timedelta(days=1))
    second = open_ticket(colleague, end_user, subject="Second")
    return {"first": first, "second": second, "colleague": colleague}


def ids(response):
    return [e.pk for e in response.context["page"].rows]


def test_filters_by_technician_action_ticket_and_date(client_for, supervisor, technician, trail):
    client = client_for(supervisor)
    first, second = trail["first"], trail["second"]
    by_tech = TicketEvent.objects.filter(actor=technician).order_by("-pk")
    assert ids(client.get(REVIEW, {"actor": technician.pk})) == [e.pk for e in by_tech]
    assert ids(client.get(REVIEW, {"kind": EventKind.COMMENTED})) == list(
        TicketEvent.objects.filter(kind=EventKind.COMMENTED).values_list("pk", flat=True)
    )
    assert ids(client.get(REVIEW, {"ticket": second.pk})) == [second.events.get().pk]
    day_two = second.opened_at.date().isoformat()
    assert ids(client.get(REVIEW, {"date_from": day_two})) == [second.events.get().pk]
    day_one = first.opened_at.date().isoformat()
    assert len(ids(client.get(REVIEW, {"date_to": day_one, "end_user": "dana.lee"}))) == 2


def test_events_outside_the_reviewers_units_are_hidden(client_for, supervisor, owner, trail):
    elsewhere = EndUserFactory(username="far.away", groups=[GroupFactory(name="Far")])
    hidden = open_ticket(owner, elsewhere)
    response = client_for(supervisor).get(REVIEW)
    assert hidden.events.get().pk not in ids(response)
    assert len(ids(response)) == 3


def test_export_streams_csv(client_for, supervisor, trail):
    response = client_for(supervisor).get(EXPORT, {"ticket": trail["first"].pk})
    assert response.streaming is True
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == ["event_id", "occurred_at", "ticket", "stream", "seq", "kind"]
    assert [row[5] for row in rows[1:]] == [EventKind.COMMENTED, EventKind.OPENED]
    assert rows[1][8] == "Internal comment: Called back"
    assert response["Content-Disposition"] == 'attachment; filename="audit-trail.csv"'


def test_export_defuses_spreadsheet_formulas(client_for, supervisor, technician, trail):
    # A directory value starting with "=" must not run as a formula when the CSV is opened.
    group = trail["first"].end_user.groups.get()
    ticket = open_ticket(technician, EndUserFactory(username="=cmd|calc", groups=[group]))
    response = client_for(supervisor).get(EXPORT, {"ticket": ticket.pk})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][7] == "'=cmd|calc"


def test_verification_status_is_shown(client_for, supervisor, trail):
    client = client_for(supervisor)
    assert "The chains have not been verified yet." in client.get(REVIEW).content.decode()
    response = client.post(reverse("helpdesk:audit-verify"))
    assert response["Location"] == REVIEW
    verify_audit_chains()  # what the worker does with the queued task
    html = client.get(REVIEW).content.decode()
    assert '<span class="badge badge-ok">Intact</span> 3 events in 2 chains verified' in html


def test_broken_chain_is_shown_on_the_review_page(client_for, supervisor, trail):
    event = trail["first"].events.order_by("seq").first()
    with pgtrigger.ignore("helpdesk.TicketEvent:append_only_update"):
        TicketEvent.objects.filter(pk=event.pk).update(payload={})
    verify_audit_chains()
    html = client_for(supervisor).get(REVIEW).content.decode()
    assert "Broken</span> Checked at" in html
    assert f"event id {event.pk} (ticket:{trail['first'].pk} seq 1): content does not match" in html


# Session, staff, OTP device, actor choices, unit groups, the page of events, latest
# verification, the navigation's count of pending approvals, then the session save
# (savepoint, update, release).
REVIEW_QUERIES = 11


@pytest.mark.parametrize("comments", [0, 2, 6])
def test_review_query_count_is_constant(
    client_for, supervisor, technician, trail, comments, django_assert_num_queries
):
    for i in range(comments):
        ticket_comment(actor=technician, ticket=trail["first"], body=f"n{i}")
    client = client_for(supervisor)
    with django_assert_num_queries(REVIEW_QUERIES):
        response = client.get(REVIEW)
    assert len(ids(response)) == 3 + comments


def test_a_date_range_pages_by_time_then_id(supervisor, technician, trail):
    """With a date range the review reads the occurred_at index: newest by time first, ties
    broken by id, and `after` continues strictly after the last event shown."""
    from helpdesk.selectors import AuditQuery, audit_event_list_visible_to

    first = trail["first"]
    for i in range(4):
        ticket_comment(actor=technician, ticket=first, body=f"n{i}")
    # Times out of id order (as a backdated import writes them), and a tie.
    newest, second, third = list(TicketEvent.objects.order_by("-pk")[:3])
    with pgtrigger.ignore("helpdesk.TicketEvent:append_only_update"):
        TicketEvent.objects.filter(pk=second.pk).update(
            occurred_at=newest.occurred_at + timedelta(minutes=1)
        )
        TicketEvent.objects.filter(pk=third.pk).update(occurred_at=newest.occurred_at)
    expected = list(
        TicketEvent.objects.order_by("-occurred_at", "-pk").values_list("pk", flat=True)
    )
    day = first.opened_at.date() - timedelta(days=1)
    query = AuditQuery(date_from=day, date_to=day + timedelta(days=3))
    seen, after = [], None
    while True:
        page = audit_event_list_visible_to(
            supervisor, AuditQuery(**{**query.__dict__, "after": after}), page_size=2
        )
        seen += [e.pk for e in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == expected
    assert expected[:3] == [second.pk, newest.pk, third.pk]
