import pytest
from django.urls import reverse

from helpdesk.enums import Priority, TicketStatus
from helpdesk.roles import Role
from helpdesk.selectors import QueueQuery, ticket_list_visible_to
from helpdesk.services.tickets import ticket_assign, ticket_change_status
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

QUEUE = reverse("helpdesk:ticket-queue")


@pytest.fixture
def end_user(technician):
    return end_user_in_unit_of(technician)


def numbers(page):
    return [t.pk for t in page.rows]


def test_queues_mine_unassigned_and_all_open(technician, end_user):
    mine = open_ticket(technician, end_user, subject="Mine", assignee=technician)
    unassigned = open_ticket(technician, end_user, subject="Nobody's")
    done = open_ticket(technician, end_user, subject="Done")
    ticket_change_status(
        actor=technician, ticket=done, status=TicketStatus.IN_PROGRESS, expected_version=1
    )
    ticket_change_status(
        actor=technician, ticket=done, status=TicketStatus.WAITING_ON_USER, expected_version=2
    )

    def queue(**kwargs):
        return numbers(ticket_list_visible_to(technician, QueueQuery(**kwargs)))

    assert queue(queue="mine") == [mine.pk]
    assert queue(queue="unassigned") == [done.pk, unassigned.pk]
    assert queue(queue="open") == [done.pk, unassigned.pk, mine.pk]
    assert queue(queue="open", status=TicketStatus.WAITING_ON_USER) == [done.pk]


def test_filters_by_category_and_priority(technician, end_user):
    urgent = open_ticket(technician, end_user, priority=Priority.URGENT)
    open_ticket(technician, end_user, priority=Priority.LOW)
    page = ticket_list_visible_to(
        technician, QueueQuery(priority=Priority.URGENT, category="missing_prompt")
    )
    assert numbers(page) == [urgent.pk]
    assert numbers(ticket_list_visible_to(technician, QueueQuery(category="lost_device"))) == []


@pytest.mark.parametrize("text", ["dana.lee", "prompt", "Dana"])
def test_search_by_user_and_subject(technician, end_user, text):
    other = EndUserFactory(username="sam.roe", full_name="Sam Roe", groups=end_user.groups.all())
    hit = open_ticket(technician, end_user, subject="Phone shows no prompt")
    open_ticket(technician, other, subject="Lost phone")
    assert numbers(ticket_list_visible_to(technician, QueueQuery(q=text))) == [hit.pk]


@pytest.mark.parametrize("probe", [1000, 1])
def test_search_finds_the_same_whether_a_term_is_rare_or_common(technician, end_user, probe):
    # probe=1 takes the common-term path on PostgreSQL (more matches than the probe holds).
    hits = [open_ticket(technician, end_user, subject=f"Prompt missing {i}") for i in range(3)]
    open_ticket(technician, end_user, subject="Lost phone")
    page = ticket_list_visible_to(technician, QueueQuery(q="missing"), search_probe=probe)
    assert numbers(page) == [t.pk for t in reversed(hits)]


def test_search_by_number(technician, end_user):
    first = open_ticket(technician, end_user)
    open_ticket(technician, end_user)
    assert numbers(ticket_list_visible_to(technician, QueueQuery(q=f"#{first.pk}"))) == [first.pk]


def test_keyset_pagination_walks_every_ticket_once(technician, end_user):
    tickets = [open_ticket(technician, end_user, subject=f"T{i}") for i in range(5)]
    first = ticket_list_visible_to(technician, QueueQuery(), page_size=2)
    second = ticket_list_visible_to(technician, QueueQuery(after=first.next_after), page_size=2)
    third = ticket_list_visible_to(technician, QueueQuery(after=second.next_after), page_size=2)
    ids = [t.pk for t in reversed(tickets)]
    assert (numbers(first), numbers(second), numbers(third)) == (ids[:2], ids[2:4], ids[4:])
    assert third.next_after is None


def test_queue_is_scoped_to_the_viewers_units(technician, end_user, owner):
    elsewhere = EndUserFactory(username="far.away", groups=[GroupFactory(name="Far")])
    open_ticket(owner, elsewhere)
    visible = open_ticket(technician, end_user)
    assert numbers(ticket_list_visible_to(technician, QueueQuery(queue="all"))) == [visible.pk]


def test_queue_page_lists_and_links(client_for, technician, end_user):
    ticket = open_ticket(technician, end_user)
    response = client_for(technician).get(QUEUE)
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("helpdesk:ticket-detail", kwargs={"pk": ticket.pk}) in html
    assert "<html" in html


def test_htmx_request_gets_only_the_results_partial(client_for, technician, end_user):
    open_ticket(technician, end_user)
    response = client_for(technician).get(
        QUEUE, {"queue": "unassigned"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-results">')
    assert "<html" not in html


def test_next_page_link_keeps_the_filters(client_for, technician, end_user):
    tickets = [open_ticket(technician, end_user) for _ in range(26)]
    response = client_for(technician).get(QUEUE, {"queue": "open", "priority": "normal"})
    html = response.content.decode()
    assert f"?queue=open&amp;priority=normal&amp;after={tickets[1].pk}" in html


def _queue_rows(technician, end_user, count):
    other = make_staff(Role.HELPDESK, username="colleague")
    AdministrativeUnitFactory(name=f"Unit of {technician.username}", staff=[technician, other])
    for i in range(count):
        ticket = open_ticket(technician, end_user, subject=f"Row {i}")
        ticket_assign(
            actor=technician,
            ticket=ticket,
            assignee=other if i % 2 else technician,
            expected_version=1,
        )


# Session, staff, OTP device, the viewer's unit groups, the page of tickets (with end users
# and assignees joined), then the session save (savepoint, update, release).
QUEUE_QUERIES = 8


@pytest.mark.parametrize("rows", [1, 3, 8])
def test_queue_query_count_is_constant(
    client_for, technician, end_user, rows, django_assert_num_queries
):
    _queue_rows(technician, end_user, rows)
    client = client_for(technician)
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get(QUEUE, {"queue": "open"})
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") == rows + 1


def test_queue_rows_escape_what_people_typed(client_for, technician, end_user):
    end_user.full_name = "<b>Dana</b>"
    end_user.save(update_fields=["full_name"])
    open_ticket(technician, end_user, subject='<script>alert("x")</script>')
    html = client_for(technician).get(QUEUE, {"queue": "open"}).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<td>&lt;b&gt;Dana&lt;/b&gt; <span class="muted">dana.lee</span></td>' in html
    assert "<script>alert" not in html
    assert '<td><span class="muted">Unassigned</span></td>' in html
