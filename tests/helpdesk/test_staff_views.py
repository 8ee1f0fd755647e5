"""The staff and unit pages over HTTP: each rule refused where it should be, the temporary
password shown once and usable, and the list's query count."""

import pytest
from django.urls import reverse

from helpdesk.models import AdministrativeUnit, Staff, TicketEvent
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _url(name: str, **kwargs) -> str:
    return reverse(f"helpdesk:{name}", kwargs=kwargs or None)


def test_created_staff_gets_a_set_up_link_and_the_creator_no_password(
    client_for, administrator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(administrator).post(
            _url("staff-create"),
            {
                "username": "nina",
                "first_name": "Nina",
                "role": "helpdesk",
                "email": "n@example.com",
            },
        )

    assert response.status_code == 200
    assert "A one-time link is on its way to <strong>n@example.com</strong>" in (
        response.content.decode()
    )
    nina = Staff.objects.get(username="nina")
    assert nina.has_usable_password() is False
    (mail,) = mailoutbox
    assert mail.to == ["n@example.com"]
    assert "/setup/" in mail.body
    # The creator's page carries no link and no password.
    assert "/setup/" not in response.content.decode()


def test_create_form_offers_only_assignable_roles(client_for, administrator):
    response = client_for(administrator).get(_url("staff-create"))
    choices = [value for value, _ in response.context["form"].fields["role"].widget.choices]
    assert choices == ["user_manager", "helpdesk", "supervisor", "read_only"]


def test_administrator_posting_an_administrator_role_gets_a_field_error(client_for, administrator):
    response = client_for(administrator).post(
        _url("staff-create"), {"username": "sneaky", "email": "s@example.com", "role": "owner"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["role"]
    assert 'value="sneaky"' in response.content.decode()
    assert not Staff.objects.filter(username="sneaky").exists()
    refused = TicketEvent.objects.get(kind="admin.staff_changed").payload
    assert (refused["action"], refused["attempted"], refused["target"]) == (
        "refused",
        "created",
        "sneaky",
    )


def test_taken_username_rerenders_with_the_error(client_for, administrator):
    StaffFactory(username="nina")
    response = client_for(administrator).post(
        _url("staff-create"), {"username": "nina", "role": "helpdesk", "email": "n@example.com"}
    )
    assert response.status_code == 200
    assert "The username “nina” is taken." in response.content.decode()


def test_change_role_over_http(client_for, administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    response = client_for(administrator).post(
        _url("staff-role", pk=tech.pk), {"role": "user_manager"}
    )
    assert response["Location"] == _url("staff-detail", pk=tech.pk)
    tech.refresh_from_db()
    assert tech.role == "user_manager"


def test_raising_to_own_rank_over_http_is_a_field_error(client_for, administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    response = client_for(administrator).post(
        _url("staff-role", pk=tech.pk), {"role": "administrator"}
    )
    assert response.status_code == 200
    assert list(response.context["role_form"].errors) == ["role"]
    tech.refresh_from_db()
    assert tech.role == "helpdesk"
    refused = TicketEvent.objects.get(kind="admin.staff_changed").payload
    assert (refused["action"], refused["attempted"], refused["changes"]) == (
        "refused",
        "role_changed",
        {"role": {"old": "helpdesk", "new": "administrator"}},
    )


def test_own_role_change_over_http_is_forbidden(client_for, administrator, owner):
    for actor in (administrator, owner):
        response = client_for(actor).post(_url("staff-role", pk=actor.pk), {"role": "read_only"})
        assert response.status_code == 403
        actor.refresh_from_db()
    assert (administrator.role, owner.role) == ("administrator", "owner")


def test_own_page_offers_no_role_change_or_deactivation(client_for, administrator):
    response = client_for(administrator).get(_url("staff-detail", pk=administrator.pk))
    assert (response.context["role_form"], response.context["can_deactivate"]) == (None, False)


def test_changing_a_peer_over_http_is_forbidden(client_for, administrator):
    peer = StaffFactory(username="peer", role="administrator")
    client = client_for(administrator)
    assert client.post(_url("staff-role", pk=peer.pk), {"role": "helpdesk"}).status_code == 403
    assert client.post(_url("staff-units", pk=peer.pk), {"units": []}).status_code == 403
    assert client.post(_url("staff-deactivate", pk=peer.pk)).status_code == 403
    peer.refresh_from_db()
    assert (peer.role, peer.is_active) == ("administrator", True)


def test_bind_units_over_http(client_for, administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    unit = AdministrativeUnitFactory(name="EMEA")
    response = client_for(administrator).post(_url("staff-units", pk=tech.pk), {"units": [unit.pk]})
    assert response["Location"] == _url("staff-detail", pk=tech.pk)
    assert list(tech.administrative_units.all()) == [unit]


def test_deactivate_over_http_ends_the_targets_session(client_for, administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    their_client = client_for(tech)
    assert their_client.get(_url("home")).status_code == 200

    response = client_for(administrator).post(_url("staff-deactivate", pk=tech.pk))

    assert response["Location"] == _url("staff-detail", pk=tech.pk)
    assert their_client.get(_url("home")).status_code == 302


def test_deactivating_oneself_over_http_is_forbidden(client_for, owner):
    assert client_for(owner).post(_url("staff-deactivate", pk=owner.pk)).status_code == 403
    owner.refresh_from_db()
    assert owner.is_active is True


def test_last_active_owner_has_no_deactivate_button_for_another_owner(client_for, owner):
    other = StaffFactory(username="other-owner", role="owner", is_active=False)
    response = client_for(owner).get(_url("staff-detail", pk=owner.pk))
    assert response.context["can_deactivate"] is False
    assert other.is_active is False


def test_staff_list_query_count_is_the_same_for_one_and_several(
    client_for, administrator, django_assert_num_queries
):
    client = client_for(administrator)
    client.get(_url("staff-list"))
    # … and the actor's own units, once, for the rule of whom they may change.
    with django_assert_num_queries(9):
        client.get(_url("staff-list"))
    unit = AdministrativeUnitFactory(name="EMEA")
    for n in range(4):
        unit.staff.add(StaffFactory(username=f"s{n}", role="helpdesk"))
    with django_assert_num_queries(9):
        response = client.get(_url("staff-list"))
    assert len(response.context["rows"]) == 5


def test_unit_list_query_count_is_the_same_for_one_and_several(
    client_for, administrator, django_assert_num_queries
):
    client = client_for(administrator)
    AdministrativeUnitFactory(name="U0", groups=[GroupFactory(name="G0")])
    client.get(_url("unit-list"))
    with django_assert_num_queries(9):
        client.get(_url("unit-list"))
    for n in range(1, 4):
        AdministrativeUnitFactory(
            name=f"U{n}", groups=[GroupFactory(name=f"G{n}")], staff=[administrator]
        )
    with django_assert_num_queries(9):
        client.get(_url("unit-list"))


def test_create_and_edit_a_unit_over_http(client_for, administrator):
    sales = GroupFactory(name="Sales")
    client = client_for(administrator)

    response = client.post(_url("unit-create"), {"name": "EMEA", "groups": [sales.pk]})
    unit = AdministrativeUnit.objects.get(name="EMEA")
    assert response["Location"] == _url("unit-list")

    response = client.post(
        _url("unit-edit", pk=unit.pk),
        {"name": "EMEA", "description": "Europe", "groups": [sales.pk]},
    )
    unit.refresh_from_db()
    assert unit.description == "Europe"
    kinds = list(
        TicketEvent.objects.filter(kind="admin.staff_changed").values_list(
            "payload__action", flat=True
        )
    )
    assert kinds == ["unit_created", "unit_updated"]


def test_unit_without_groups_rerenders_with_the_error(client_for, administrator):
    response = client_for(administrator).post(
        _url("unit-create"), {"name": "Empty", "description": "kept"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["groups"]
    assert 'value="kept"' in response.content.decode()


def test_unknown_staff_and_unit_are_404(client_for, administrator):
    client = client_for(administrator)
    assert client.get(_url("staff-detail", pk=9999)).status_code == 404
    assert client.get(_url("unit-edit", pk=9999)).status_code == 404


def test_linking_a_technicians_own_directory_account_makes_it_theirs(client_for, administrator):
    unit_group = GroupFactory(name="Staff who are users")
    tech = StaffFactory(username="tech", role="helpdesk")
    own = EndUserFactory(username="tech.own", groups=[unit_group])
    client = client_for(administrator)

    page = client.get(_url("staff-detail", pk=tech.pk)).content.decode()
    assert "Own directory account" in page
    assert "Not linked" in page

    response = client.post(_url("staff-identity", pk=tech.pk), {"username": "TECH.OWN"})

    assert response["Location"] == _url("staff-detail", pk=tech.pk)
    tech.refresh_from_db()
    assert tech.directory_identity == own
    event = TicketEvent.objects.filter(kind="admin.staff_changed").latest("id").payload
    assert (event["action"], event["changes"]["identity"]) == (
        "identity_linked",
        {"old": None, "new": "tech.own"},
    )
    assert "Linked to" in client.get(_url("staff-detail", pk=tech.pk)).content.decode()

    client.post(_url("staff-identity", pk=tech.pk), {"username": ""})
    tech.refresh_from_db()
    assert tech.directory_identity is None


def test_an_unknown_or_out_of_unit_directory_account_is_a_field_error(client_for):
    group, other = GroupFactory(name="Mine"), GroupFactory(name="Theirs")
    administrator = StaffFactory(username="bound.admin", role="administrator")
    AdministrativeUnitFactory(name="My unit", groups=[group], staff=[administrator])
    tech = StaffFactory(username="tech", role="helpdesk")
    tech.administrative_units.add(AdministrativeUnit.objects.get(name="My unit"))
    EndUserFactory(username="elsewhere", groups=[other])
    client = client_for(administrator)

    for username in ("nobody", "elsewhere"):
        response = client.post(_url("staff-identity", pk=tech.pk), {"username": username})
        assert response.status_code == 200
        assert response.context["identity_form"].errors["username"] == [
            f"No end user named {username} in the directory."
        ]
        assert f'value="{username}"' in response.content.decode()
    tech.refresh_from_db()
    assert tech.directory_identity is None


def test_an_end_user_linked_to_one_staff_member_cannot_be_linked_to_another(
    client_for, administrator
):
    own = EndUserFactory(username="shared.account")
    first = StaffFactory(username="first", role="helpdesk", directory_identity=own)
    second = StaffFactory(username="second", role="helpdesk")

    response = client_for(administrator).post(
        _url("staff-identity", pk=second.pk), {"username": "shared.account"}
    )

    assert response.status_code == 200
    assert response.context["identity_form"].errors["username"] == [
        "shared.account is already linked to another staff member."
    ]
    second.refresh_from_db()
    assert (second.directory_identity, first.directory_identity) == (None, own)
