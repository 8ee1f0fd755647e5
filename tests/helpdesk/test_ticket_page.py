import pytest
from django.urls import reverse

from enrollment.enums import Method
from enrollment.labels import say
from enrollment.mfa import get_mfa_service
from enrollment.policy import DEFAULTS
from helpdesk.enums import EventKind, TicketStatus
from helpdesk.models import TicketEvent
from helpdesk.services.tickets import ticket_change_status, ticket_comment
from tests.factories import AuthenticatorFactory, DeviceFactory
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket


@pytest.fixture
def end_user(technician):
    return end_user_in_unit_of(technician)


@pytest.fixture
def ticket(technician, end_user):
    return open_ticket(technician, end_user)


def url(ticket, name="helpdesk:ticket-detail"):
    return reverse(name, kwargs={"pk": ticket.pk})


def test_page_shows_the_timeline_and_loads_the_mfa_picture_after_itself(
    client_for, technician, end_user, ticket
):
    ticket_comment(actor=technician, ticket=ticket, body="Caller on the line.")

    html = client_for(technician).get(url(ticket)).content.decode()

    assert "Caller on the line." in html
    assert "Opened: Missing prompt by Phone, normal priority" in html
    # The header names the opener (the actor of the first event).
    assert f" by {technician.get_full_name() or technician.username}</dd>" in html
    picture = url(ticket, "helpdesk:ticket-mfa-picture")
    # An htmx placeholder that is also a plain link when scripts are off.
    assert f'hx-get="{picture}" hx-trigger="load"' in html
    assert f'<a href="{picture}">' in html
    # The picture itself is not on the page: it is what waits on the MFA service.
    assert "Recent sign-ins" not in html


def test_mfa_picture_shows_directory_and_service_facts(client_for, technician, end_user, ticket):
    device = DeviceFactory(end_user=end_user, name="Dana's iPhone", os_version="17.4")
    AuthenticatorFactory(end_user=end_user, device=device, name="Dana push")
    attempt = get_mfa_service().sign_in(end_user_id=end_user.pk, factor="sms")

    response = client_for(technician).get(url(ticket, "helpdesk:ticket-mfa-picture"))
    html = response.content.decode()

    log = get_mfa_service().auth_log(end_user_id=end_user.pk)
    assert [entry.reason for entry in log] == [attempt.reason]
    # In plain words, never the service's reason code.
    assert f"<td>{say('auth_reason', attempt.reason)}</td>" in html
    assert f"<td>{attempt.reason}</td>" not in html
    assert "Dana&#x27;s iPhone" in html
    assert "Dana push" in html
    # The effective policy says where each setting came from.
    assert '<td>MFA enabled</td><td>on</td><td class="why">built-in default</td>' in html
    methods = ", ".join(dict(Method.choices)[m] for m in DEFAULTS["allowed_methods"])
    assert f"<td>Allowed methods</td><td>{methods}</td>" in html
    assert "hotp_token" not in html
    # Without htmx it is a page of its own, linking back to the ticket.
    assert "<html" in html
    assert f'<a href="{url(ticket)}">' in html


def test_mfa_picture_for_htmx_is_the_aside_alone_and_reloads_on_ticket_changed(
    client_for, technician, ticket
):
    picture = url(ticket, "helpdesk:ticket-mfa-picture")
    response = client_for(technician).get(picture, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith(
        f'<aside id="mfa-picture" aria-labelledby="picture-title" hx-get="{picture}" '
        'hx-trigger="ticket-changed from:body" hx-swap="outerHTML">'
    )


def test_mfa_picture_of_an_end_user_outside_the_unit_is_not_found(
    client_for, technician, owner, ticket
):
    from tests.factories import EndUserFactory, GroupFactory

    elsewhere = EndUserFactory(username="far.away", groups=[GroupFactory(name="Far")])
    far_ticket = open_ticket(owner, elsewhere)
    response = client_for(technician).get(url(far_ticket, "helpdesk:ticket-mfa-picture"))
    assert response.status_code == 404


def test_plain_post_redirects_and_records_the_change(client_for, technician, ticket):
    response = client_for(technician).post(
        url(ticket, "helpdesk:ticket-status"), {"version": 1, "status": "in_progress"}
    )
    assert response.status_code == 302
    assert response["Location"] == url(ticket)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_htmx_post_rerenders_the_main_partial_and_fires_ticket_changed(
    client_for, technician, ticket
):
    response = client_for(technician).post(
        url(ticket, "helpdesk:ticket-comment"),
        {"body": "Asked the caller to open the app."},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-changed"
    assert html.lstrip().startswith('<div id="ticket-main">')
    assert "Asked the caller to open the app." in html


def test_stale_form_is_refused_with_the_reason(client_for, technician, ticket):
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=1
    )
    client = client_for(technician)
    response = client.post(
        url(ticket, "helpdesk:ticket-status"),
        {"version": 1, "status": "waiting_on_user"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert "after you loaded it, so your change was not saved." in html
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert TicketEvent.objects.filter(ticket=ticket).count() == 2


def test_resolve_form_records_outcome_and_root_causes(client_for, technician, ticket):
    client_for(technician).post(
        url(ticket, "helpdesk:ticket-resolve"),
        {
            "version": 1,
            "outcome": "prompt_restored",
            "root_causes": ["push_notifications_disabled", "app_outdated"],
        },
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome, ticket.root_causes) == (
        TicketStatus.RESOLVED,
        "prompt_restored",
        ["push_notifications_disabled", "app_outdated"],
    )
    assert ticket.events.order_by("-seq").first().kind == EventKind.RESOLVED


def test_read_only_staff_see_no_actions(client_for, auditor, technician, ticket):
    from tests.factories import AdministrativeUnitFactory

    AdministrativeUnitFactory(name=f"Unit of {technician.username}", staff=[technician, auditor])
    html = client_for(auditor).get(url(ticket)).content.decode()
    assert "Work the ticket" not in html
    assert "Internal comment" not in html


# Session, staff, OTP device, the ticket, the end user's group ids, the viewer's unit groups,
# its events; the assignee menu (one query, on a cold cache); the notifications waiting in the
# outbox for this end user; then the session save (savepoint, update, release). The MFA picture
# is its own request (below).
DETAIL_QUERIES = 12


@pytest.mark.parametrize("extra_events", [0, 2, 6])
def test_ticket_page_query_count_is_constant(
    client_for, technician, end_user, ticket, extra_events, django_assert_num_queries
):
    for i in range(extra_events):
        ticket_comment(actor=technician, ticket=ticket, body=f"Note {i}")
    client = client_for(technician)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(url(ticket))
    assert response.status_code == 200
    assert response.content.decode().count('<li>\n        <div class="when">') == 1 + extra_events


# Session, staff, OTP device, the ticket, the end user's group ids, the viewer's unit groups;
# directory: the end user's groups, latest enrollment, authenticators, policies for the
# effective policy; service: devices, auth log, fraud signals; then the session save
# (savepoint, update, release).
PICTURE_QUERIES = 16


@pytest.mark.parametrize("rows", [1, 3, 6])
def test_mfa_picture_query_count_is_constant(
    client_for, technician, end_user, ticket, rows, django_assert_num_queries
):
    from authsim.models import FraudReport

    for i in range(rows):
        device = DeviceFactory(end_user=end_user, name=f"Phone {i}")
        AuthenticatorFactory(end_user=end_user, device=device)
        get_mfa_service().sign_in(end_user_id=end_user.pk, factor="sms")
        FraudReport.objects.create(end_user=end_user, detail=f"Not me {i}")
    client = client_for(technician)
    with django_assert_num_queries(PICTURE_QUERIES):
        response = client.get(url(ticket, "helpdesk:ticket-mfa-picture"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<li><strong>Phone ") == rows
    assert html.count("Not me ") == rows


def test_open_a_ticket_by_finding_the_caller(client_for, technician, end_user):
    client = client_for(technician)
    open_url = reverse("helpdesk:ticket-open")
    found = client.get(open_url, {"find": "dana"}).content.decode()
    assert f'href="{open_url}?end_user={end_user.pk}"' in found
    response = client.post(
        open_url,
        {
            "end_user": end_user.pk,
            "subject": "Never finished enrolling",
            "category": "enrollment_failure",
            "channel": "chat",
            "priority": "high",
            "assign_to_me": "on",
        },
    )
    ticket = end_user.tickets.get()
    assert response["Location"] == url(ticket)
    assert (ticket.subject, ticket.assignee, ticket.channel) == (
        "Never finished enrolling",
        technician,
        "chat",
    )


def test_nobody_outside_the_unit_is_found(client_for, technician, end_user):
    from tests.factories import EndUserFactory, GroupFactory

    EndUserFactory(username="dana.far", groups=[GroupFactory(name="Far")])
    html = client_for(technician).get(reverse("helpdesk:ticket-open"), {"find": "dana"})
    assert [u.username for u in html.context["matches"]] == ["dana.lee"]


def test_page_offers_the_guided_session_and_recovery_panels_to_who_works_it(
    client_for, technician, auditor, ticket
):
    from helpdesk.models import AdministrativeUnit

    for unit in AdministrativeUnit.objects.filter(staff=technician):
        unit.staff.add(auditor)
    guide = reverse("troubleshooting:ticket", kwargs={"ticket_pk": ticket.pk})
    recovery = reverse("enrollment:ticket-actions", kwargs={"ticket_pk": ticket.pk})

    worker_html = client_for(technician).get(url(ticket)).content.decode()
    auditor_html = client_for(auditor).get(url(ticket)).content.decode()

    assert f'hx-get="{guide}" hx-trigger="load"' in worker_html
    assert f'hx-get="{recovery}" hx-trigger="load"' in worker_html
    assert guide not in auditor_html
    assert recovery not in auditor_html
    # Each panel loads on its own and answers the technician.
    assert client_for(technician).get(guide).status_code == 200
    assert client_for(technician).get(recovery).status_code == 200
