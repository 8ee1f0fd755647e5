"""Every form page that can be invalid opens with one error summary ("There is a problem"):
the form's own errors, then a link to each invalid field's control, focused when it renders;
the per-field messages stay beside the fields."""

import re

import pytest
from django.urls import reverse

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import (
    STAFF_PASSWORD,
    AdministrativeUnitFactory,
    EndUserFactory,
    GroupFactory,
    PolicyFactory,
)

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(
    r'<div class="error-summary" role="alert" tabindex="-1"( autofocus)?>(.*?)</div>', re.S
)
ITEM = re.compile(r"<li>(.*?)</li>", re.S)


def summary(response) -> tuple[bool, list[str]]:
    """(whether it takes the focus, its items as written, links kept as href|text)."""
    found = SUMMARY.findall(response.content.decode())
    assert len(found) == 1, found
    focus, body = found[0]
    assert '<h2 class="error-summary-title">There is a problem</h2>' in body
    items = [re.sub(r'<a href="([^"]*)">(.*)</a>', r"\1|\2", item) for item in ITEM.findall(body)]
    return bool(focus), items


def test_ticket_open_form(client_for, technician):
    end_user = EndUserFactory(username="dana")
    response = client_for(technician).post(
        reverse("helpdesk:ticket-open"),
        {
            "end_user": end_user.pk,
            "subject": "",
            "category": "nonsense",
            "channel": "phone",
            "priority": "normal",
        },
    )

    assert response.status_code == 200
    assert summary(response) == (
        True,
        [
            "#id_subject|Subject: This field is required.",
            "#id_category|Category: Select a valid choice. nonsense is not one of the available "
            "choices.",
        ],
    )
    assert '<span class="field-error">This field is required.</span>' in response.content.decode()


def test_staff_create_form(client_for, administrator):
    response = client_for(administrator).post(
        reverse("helpdesk:staff-create"), {"username": "", "email": "x", "role": "helpdesk"}
    )

    focus, items = summary(response)
    assert focus
    assert items == [
        "#id_username|Username: This field is required.",
        "#id_email|Email: Enter a valid email address.",
    ]


def test_unit_form_links_a_list_of_checkboxes_to_its_first_box(client_for, administrator):
    GroupFactory(name="Sales")
    response = client_for(administrator).post(
        reverse("helpdesk:unit-create"), {"name": "", "groups": ["999999"]}
    )

    _, items = summary(response)
    assert items == [
        "#id_name|Name: This field is required.",
        "#id_groups_0|Groups: Select a valid choice. 999999 is not one of the available choices.",
    ]


def test_policy_edit_form(client_for, administrator):
    policy = PolicyFactory(scope="global")
    response = client_for(administrator).post(
        reverse("enrollment:policy-edit", kwargs={"pk": policy.pk}),
        {"resend_limit": "-2", "min_app_version": "4.x"},
    )

    focus, items = summary(response)
    assert focus
    assert "#id_resend_limit|Resend limit: Cannot be negative." in items
    assert len(items) == len(response.context["form"].errors)


def test_publishing_form_shows_the_forms_own_error(client_for, administrator):
    response = client_for(administrator).post(
        reverse("troubleshooting:playbook-publish"), {"source": " "}
    )

    assert summary(response) == (True, ["Paste the playbook&#x27;s YAML or upload its file."])


def test_bulk_start_form(client_for):
    sales = GroupFactory(name="Sales")
    admin = make_staff(Role.ADMINISTRATOR, username="sales-admin")
    AdministrativeUnitFactory(name="Sales unit", groups=[sales], staff=[admin])
    EndUserFactory(username="ann", status="pending_enrollment", groups=[sales])

    response = client_for(admin).post(
        reverse("enrollment:bulk-start"),
        {"action": "reminder", "reason": " ", "confirmed_count": 1},
    )

    focus, items = summary(response)
    assert focus
    assert [item.split("|")[0] for item in items] == ["#id_reason", "#id_confirm"]


def test_sign_in_form_shows_its_refusal(client):
    make_staff(Role.HELPDESK, username="tina")
    response = client.post(reverse("helpdesk:login"), {"username": "tina", "password": "wrong"})

    focus, items = summary(response)
    assert focus
    assert len(items) == 1
    assert "#" not in items[0]  # the form's own error, not a field's


@pytest.mark.parametrize(
    ("url_name", "query", "link"),
    [
        ("helpdesk:ticket-queue", {"status": "bogus"}, "#id_status"),
        ("helpdesk:audit-review", {"date_from": "yesterday"}, "#id_date_from"),
        ("helpdesk:dashboard", {"date_from": "yesterday"}, "#id_date_from"),
    ],
)
def test_filter_forms_summarise_without_taking_the_focus(client_for, owner, url_name, query, link):
    """They re-render as a control changes: the focus stays in that control."""
    response = client_for(owner).get(reverse(url_name), query)

    focus, items = summary(response)
    assert not focus
    assert [item.split("|")[0] for item in items] == [link]


def test_a_valid_form_has_no_summary(client_for, technician):
    response = client_for(technician).get(reverse("helpdesk:ticket-open"))
    assert "There is a problem" not in response.content.decode()
    assert STAFF_PASSWORD  # the personas sign in with it
