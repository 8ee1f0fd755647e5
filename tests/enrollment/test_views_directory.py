"""The end-user pages: search by name, username, email and phone, one end user's picture with
a filtered sign-in log and bypass codes in figures (never the codes), unit scope, and
constant query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse

from authsim.models import FraudReport
from enrollment import clock
from enrollment.mfa import get_mfa_service
from enrollment.models import BypassCode
from enrollment.services.bypass import bypass_code_hash
from tests.factories import AuthenticatorFactory, DeviceFactory, EndUserFactory, GroupFactory
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

LIST = reverse("enrollment:end-user-list")


def detail(user):
    return reverse("enrollment:end-user-detail", kwargs={"pk": user.pk})


@pytest.fixture
def dana(technician):
    user = end_user_in_unit_of(technician)
    user.mobile = "+14155550123"
    user.save(update_fields=["mobile"])
    return user


@pytest.mark.parametrize("term", ["Dana Lee", "dana.lee", "dana.lee@example.com", "5550123"])
def test_the_list_finds_an_end_user_by_name_username_email_or_phone(
    client_for, technician, dana, term
):
    response = client_for(technician).get(LIST, {"q": term})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{detail(dana)}"' in html


def test_the_list_and_the_page_keep_to_the_units(client_for, technician, dana):
    elsewhere = EndUserFactory(username="far.away", groups=[GroupFactory(name="Far")])
    client = client_for(technician)

    assert "far.away" not in client.get(LIST, {"q": "a"}).content.decode()
    assert client.get(detail(elsewhere)).status_code == 404


def test_htmx_search_answers_the_results_alone(client_for, technician, dana):
    response = client_for(technician).get(LIST, {"q": "dana"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="end-user-results"')
    assert "<html" not in html


def test_the_page_shows_the_picture_codes_in_figures_and_the_tickets(client_for, technician, dana):
    device = DeviceFactory(end_user=dana, name="Dana's iPhone")
    AuthenticatorFactory(end_user=dana, device=device, name="Dana push")
    FraudReport.objects.create(end_user=dana, detail="Not me at 3 am")
    BypassCode.objects.create(
        end_user=dana,
        code_hash=bypass_code_hash("1234567890"),
        created_by=technician,
        expires_at=clock.now() + timedelta(minutes=30),
    )
    ticket = open_ticket(technician, dana, subject="No prompt since Monday")

    html = client_for(technician).get(detail(dana)).content.decode()

    assert "Dana&#x27;s iPhone" in html
    assert "Dana push" in html
    assert "Not me at 3 am" in html
    assert "1 usable" in html
    assert f"Issued by {technician.username}." in html
    assert "1234567890" not in html
    assert f"#{ticket.pk} No prompt since Monday" in html
    assert f'href="{reverse("helpdesk:ticket-open")}?end_user={dana.pk}">Open a ticket</a>' in html
    assert "<td>MFA enabled</td>" in html


def test_the_sign_in_log_filters_by_result_reason_and_factor(client_for, technician, dana):
    service = get_mfa_service()
    service.sign_in(end_user_id=dana.pk, factor="sms")
    service.sign_in(end_user_id=dana.pk, factor="push")
    log = service.auth_log(end_user_id=dana.pk)
    wanted = log[0]
    client = client_for(technician)

    everything = client.get(detail(dana)).content.decode()
    only = client.get(
        detail(dana),
        {"result": wanted.result, "reason": wanted.reason, "factor": wanted.factor},
        HTTP_HX_REQUEST="true",
    ).content.decode()

    assert everything.count('<li class="sign-in">') == len(log)
    assert only.lstrip().startswith('<section class="card" id="sign-ins"')
    assert only.count('<li class="sign-in">') == len(
        [
            e
            for e in log
            if (e.result, e.reason, e.factor) == (wanted.result, wanted.reason, wanted.factor)
        ]
    )


LIST_QUERIES = 9
DETAIL_QUERIES = 18


@pytest.mark.parametrize("rows", [1, 3])
def test_list_query_count_is_constant(client_for, technician, rows, django_assert_num_queries):
    group = GroupFactory(name=f"Group of {technician.username}")
    end_user_in_unit_of(technician)
    for i in range(rows - 1):
        EndUserFactory(username=f"caller{i}", groups=[group])
    client = client_for(technician)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(LIST)
    assert response.content.decode().count('class="user-row"') == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_detail_query_count_is_constant(
    client_for, technician, dana, rows, django_assert_num_queries
):
    for i in range(rows):
        device = DeviceFactory(end_user=dana, name=f"Phone {i}")
        AuthenticatorFactory(end_user=dana, device=device)
        get_mfa_service().sign_in(end_user_id=dana.pk, factor="sms")
        open_ticket(technician, dana, subject=f"Case {i}")
    client = client_for(technician)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(detail(dana))
    assert response.content.decode().count("<li><strong>Phone ") == rows
