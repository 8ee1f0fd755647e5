"""Numbers and dates no database or calendar can hold are refused with a message on the page,
through every GET filter that takes them (helpdesk.form_fields)."""

import csv
import io

import pytest
from django.urls import reverse

from helpdesk.form_fields import DATE_MAX, DATE_MIN, ID_MAX
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

pytestmark = pytest.mark.django_db

AUDIT = reverse("helpdesk:audit-review")
AUDIT_EXPORT = reverse("helpdesk:audit-export")
DASHBOARD = reverse("helpdesk:dashboard")
DASHBOARD_EXPORT = reverse("helpdesk:dashboard-export")
QUEUE = reverse("helpdesk:ticket-queue")
BULK = reverse("enrollment:bulk-pending")

TOO_LONG = "9" * 30  # beyond 64 bits: SQLite refuses it, PostgreSQL's bigint too
DATE_RANGE_MESSAGE = "Enter a date between 1 January 1970 and 31 December 2999."
NUMBER_MESSAGE = f"Enter a whole number from 1 to {ID_MAX:,}."


def test_the_limits_are_the_documented_ones():
    assert (DATE_MIN.isoformat(), DATE_MAX.isoformat(), ID_MAX) == (
        "1970-01-01",
        "2999-12-31",
        9223372036854775807,
    )


@pytest.mark.parametrize("field", ["ticket", "after"])
def test_audit_filter_refuses_an_over_long_integer_with_a_message(client_for, supervisor, field):
    response = client_for(supervisor).get(AUDIT, {field: TOO_LONG})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [NUMBER_MESSAGE]
    assert NUMBER_MESSAGE in response.content.decode()


def test_audit_filter_accepts_the_largest_id_and_finds_nothing(client_for, supervisor):
    response = client_for(supervisor).get(AUDIT, {"ticket": str(ID_MAX)})

    assert response.status_code == 200
    assert response.context["form"].errors == {}
    assert list(response.context["page"].rows) == []


def test_audit_export_with_an_over_long_ticket_streams_the_unfiltered_trail(
    client_for, supervisor, technician
):
    ticket = open_ticket(technician, end_user_in_unit_of(technician))
    response = client_for(supervisor).get(AUDIT_EXPORT, {"ticket": TOO_LONG})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200
    assert [row[2] for row in rows[1:]] == [str(ticket.pk)]


@pytest.mark.parametrize(
    "dates",
    [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31", "date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-01"},
    ],
)
@pytest.mark.parametrize("url", [DASHBOARD, AUDIT])
def test_dates_at_the_calendars_ends_are_refused_with_a_message(client_for, owner, url, dates):
    response = client_for(owner).get(url, dates)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert all(errors[name] == [DATE_RANGE_MESSAGE] for name in dates)
    assert DATE_RANGE_MESSAGE in response.content.decode()


@pytest.mark.parametrize("url", [DASHBOARD_EXPORT, AUDIT_EXPORT])
def test_exports_with_dates_at_the_calendars_ends_answer_instead_of_crashing(
    client_for, owner, url
):
    response = client_for(owner).get(url, {"date_from": "0001-01-01", "date_to": "9999-12-31"})

    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert body.decode().splitlines()[0]  # the header row


def test_dates_inside_the_range_still_filter(client_for, owner):
    response = client_for(owner).get(
        DASHBOARD, {"date_from": "1970-01-01", "date_to": "2999-12-31"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {}


def test_queue_cursor_refuses_an_over_long_integer(client_for, technician):
    response = client_for(technician).get(QUEUE, {"after": TOO_LONG})

    assert response.status_code == 200
    assert response.context["form"].errors["after"] == [NUMBER_MESSAGE]
    assert f"Page position: {NUMBER_MESSAGE}" in response.content.decode()


def test_bulk_filter_refuses_a_date_at_the_calendars_end(client_for, owner):
    response = client_for(owner).get(BULK, {"invited_before": "9999-12-31"})

    assert response.status_code == 200
    assert response.context["filter_form"].errors["invited_before"] == [DATE_RANGE_MESSAGE]
