"""A NUL character anywhere in a request is refused with a page that says so (400), before a
view or PostgreSQL sees it (helpdesk.middleware.RejectNulCharactersMiddleware)."""

import pytest
from django.urls import reverse

from helpdesk.models import Ticket
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

pytestmark = pytest.mark.django_db

MESSAGE = "contains a NUL character"

# Every search box and GET filter of the app, with the parameter people type into.
SEARCH_BOXES = [
    ("helpdesk:ticket-queue", "q"),
    ("helpdesk:ticket-open", "find"),
    ("helpdesk:audit-review", "end_user"),
    ("helpdesk:audit-export", "end_user"),
    ("helpdesk:dashboard", "complaint"),
    ("helpdesk:staff-list", "q"),
    ("enrollment:policy-explain", "q"),
    ("enrollment:bulk-pending", "stage"),
    ("authsim:device-list", "q"),
    ("kb:list", "q"),
]


@pytest.mark.parametrize(("url_name", "param"), SEARCH_BOXES)
@pytest.mark.parametrize("value", ["dana\x00lee", "\x00"])
def test_a_nul_in_a_search_box_is_refused_with_a_message(client_for, owner, url_name, param, value):
    response = client_for(owner).get(reverse(url_name), {param: value})

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()


def test_a_nul_in_a_parameter_name_is_refused(client_for, owner):
    response = client_for(owner).get(reverse("helpdesk:ticket-queue") + "?q%00=x")

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()


def test_a_nul_in_a_posted_form_changes_nothing(client_for, technician):
    ticket = open_ticket(technician, end_user_in_unit_of(technician))
    url = reverse("helpdesk:ticket-comment", kwargs={"pk": ticket.pk})

    response = client_for(technician).post(url, {"body": "called\x00back"})

    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).chain_seq == 1  # only the opening event


def test_text_without_nul_passes(client_for, owner):
    response = client_for(owner).get(reverse("helpdesk:ticket-queue"), {"q": "dana lee"})

    assert response.status_code == 200
