"""A unit-bound administrator stays inside their units, over HTTP: each attempt to widen
their reach is refused with a clear message and an "admin.staff_changed" refusal event."""

import pytest
from django.urls import reverse

from helpdesk.models import AdministrativeUnit, Staff, TicketEvent
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, GroupFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _url(name: str, **kwargs) -> str:
    return reverse(f"helpdesk:{name}", kwargs=kwargs or None)


@pytest.fixture
def bound(administrator):
    """The administrator bound to Sales; Finance is another unit's."""
    sales, finance = GroupFactory(name="Sales"), GroupFactory(name="Finance")
    own = AdministrativeUnitFactory(name="Sales desk", groups=[sales], staff=[administrator])
    other = AdministrativeUnitFactory(name="Finance desk", groups=[finance])
    return {"admin": administrator, "own": own, "other": other, "sales": sales, "finance": finance}


def _refusal() -> dict:
    event = TicketEvent.objects.filter(kind="admin.staff_changed").latest("id")
    assert (event.stream, event.payload["action"]) == ("admin", "refused")
    return event.payload


def test_cannot_add_another_units_group_to_their_own_unit(bound, client_for):
    response = client_for(bound["admin"]).post(
        _url("unit-edit", pk=bound["own"].pk),
        {"name": "Sales desk", "groups": [bound["sales"].pk, bound["finance"].pk]},
    )

    assert response.status_code == 200
    assert "choose only groups of your own units" in response.content.decode()
    assert list(bound["own"].groups.all()) == [bound["sales"]]
    refused = _refusal()
    assert (refused["attempted"], refused["changes"]["groups"]) == (
        "unit_updated",
        {"old": ["Sales"], "new": ["Finance", "Sales"]},
    )


def test_cannot_create_a_unit_over_another_units_groups(bound, client_for):
    response = client_for(bound["admin"]).post(
        _url("unit-create"), {"name": "Mine now", "groups": [bound["finance"].pk]}
    )

    assert response.status_code == 200
    assert not AdministrativeUnit.objects.filter(name="Mine now").exists()
    assert _refusal()["attempted"] == "unit_created"


def test_cannot_edit_another_units_groups(bound, client_for):
    response = client_for(bound["admin"]).post(
        _url("unit-edit", pk=bound["other"].pk),
        {"name": "Finance desk", "groups": [bound["sales"].pk]},
    )

    assert response.status_code == 200
    assert list(bound["other"].groups.all()) == [bound["finance"]]
    assert _refusal()["target"] == "Finance desk"


@pytest.mark.parametrize("units", [[], "other"])
def test_can_create_staff_only_bound_within_their_units(bound, client_for, units):
    chosen = [bound["other"].pk] if units == "other" else []
    response = client_for(bound["admin"]).post(
        _url("staff-create"),
        {"username": "newbie", "role": "helpdesk", "units": chosen, "email": "nb@example.com"},
    )

    assert response.status_code == 200
    assert "choose one or more of your own units" in response.content.decode()
    assert not Staff.objects.filter(username="newbie").exists()
    assert (_refusal()["attempted"], _refusal()["target"]) == ("created", "newbie")


def test_may_create_staff_in_their_own_unit(bound, client_for):
    response = client_for(bound["admin"]).post(
        _url("staff-create"),
        {
            "username": "newbie",
            "role": "helpdesk",
            "units": [bound["own"].pk],
            "email": "nb@example.com",
        },
    )

    assert response.status_code == 200
    assert list(Staff.objects.get(username="newbie").administrative_units.all()) == [bound["own"]]


def test_cannot_change_their_own_or_a_peers_unit_membership(bound, client_for):
    peer = make_staff(Role.ADMINISTRATOR, username="peer.admin")
    bound["own"].staff.add(peer)
    client = client_for(bound["admin"])

    for target in (bound["admin"], peer):
        response = client.post(_url("staff-units", pk=target.pk), {"units": []})
        assert response.status_code == 403
        assert "Only an owner changes their own account" in response.content.decode()
        assert (_refusal()["attempted"], _refusal()["target"]) == ("units_changed", target.username)
    assert list(bound["admin"].administrative_units.all()) == [bound["own"]]
    assert list(peer.administrative_units.all()) == [bound["own"]]


def test_cannot_unbind_or_move_staff_out_of_their_units(bound, client_for):
    tech = StaffFactory(username="tech", role=Role.HELPDESK)
    bound["own"].staff.add(tech)
    client = client_for(bound["admin"])

    unbound = client.post(_url("staff-units", pk=tech.pk), {"units": []})
    moved = client.post(_url("staff-units", pk=tech.pk), {"units": [bound["other"].pk]})

    assert (unbound.status_code, moved.status_code) == (200, 200)
    assert list(tech.administrative_units.all()) == [bound["own"]]
    assert _refusal()["changes"]["units"] == {"old": ["Sales desk"], "new": ["Finance desk"]}


def test_cannot_touch_staff_of_other_units(bound, client_for):
    outsider = StaffFactory(username="finance.tech", role=Role.HELPDESK)
    bound["other"].staff.add(outsider)

    response = client_for(bound["admin"]).post(
        _url("staff-role", pk=outsider.pk), {"role": "read_only"}
    )

    assert response.status_code == 403
    outsider.refresh_from_db()
    assert outsider.role == Role.HELPDESK
    assert _refusal()["attempted"] == "role_changed"


def test_rank_refusals_on_the_staff_pages_are_recorded(client_for, administrator, owner):
    client = client_for(administrator)

    role = client.post(_url("staff-role", pk=owner.pk), {"role": "read_only"})
    deactivate = client.post(_url("staff-deactivate", pk=owner.pk))

    assert (role.status_code, deactivate.status_code) == (403, 403)
    attempts = [
        e.payload["attempted"]
        for e in TicketEvent.objects.filter(kind="admin.staff_changed").order_by("id")
    ]
    assert attempts == ["role_changed", "deactivated"]
