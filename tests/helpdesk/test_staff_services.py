"""Staff and unit services: every rule of who may change whom, and the audit trail."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import Staff, TicketEvent
from helpdesk.permissions import assignable_roles, can_manage_staff_member
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.staff import (
    is_last_active_owner,
    staff_change_role,
    staff_create,
    staff_deactivate,
    staff_set_units,
    unit_create,
    unit_update,
)
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, GroupFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _events():
    return list(TicketEvent.objects.filter(kind="admin.staff_changed").order_by("seq"))


# --- The shared rule ------------------------------------------------------------------------------


def test_administrator_assigns_only_roles_below_their_own(administrator):
    assert [value for value, _ in assignable_roles(administrator)] == [
        "user_manager",
        "helpdesk",
        "supervisor",
        "read_only",
    ]


def test_owner_assigns_every_role(owner):
    assert len(assignable_roles(owner)) == 6


@pytest.mark.parametrize("role", ["user_manager", "helpdesk", "supervisor", "read_only"])
def test_roles_without_manage_staff_assign_nothing(persona, role):
    assert assignable_roles(persona(role)) == []


def test_administrator_manages_only_staff_strictly_below(administrator):
    peer = StaffFactory(username="peer", role="administrator")
    tech = StaffFactory(username="tech", role="helpdesk")
    assert can_manage_staff_member(administrator, tech) is True
    assert can_manage_staff_member(administrator, peer) is False
    assert can_manage_staff_member(administrator, administrator) is False


def test_the_django_admin_changes_no_staff_at_all(rf, owner):
    from django.contrib import admin

    model_admin = admin.site._registry[Staff]
    request = rf.get("/")
    request.user = owner
    tech = StaffFactory(username="tech", role="helpdesk")
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, tech) is False
    assert model_admin.has_delete_permission(request, tech) is False


# --- Creating -------------------------------------------------------------------------------------


def test_create_staff_with_no_usable_password_a_set_up_link_and_units(administrator):
    unit = AdministrativeUnitFactory(name="EMEA")

    created = staff_create(
        actor=administrator,
        username="nina",
        role="helpdesk",
        first_name="Nina",
        last_name="Berg",
        email="nina@example.com",
        units=[unit],
    )

    staff = Staff.objects.get(username="nina")
    assert staff.has_usable_password() is False
    assert (staff.role, staff.is_active) == ("helpdesk", True)
    assert list(staff.administrative_units.all()) == [unit]
    assert TOTPDevice.objects.filter(user=staff).count() == 0  # enrolls on the set-up page
    assert (created.setup_link.staff, created.setup_link.used_at) == (staff, None)
    (event,) = _events()
    assert event.payload == {
        "action": "created",
        "subject": "staff",
        "target_id": staff.pk,
        "target": "nina",
        "by": administrator.username,
        "changes": {
            "email": {"old": None, "new": "nina@example.com"},
            "name": {"old": None, "new": "Nina Berg"},
            "role": {"old": None, "new": "helpdesk"},
            "units": {"old": None, "new": ["EMEA"]},
        },
    }
    assert audit_chain_verify().ok


def test_staff_need_an_email_address_for_their_set_up_link(administrator):
    with pytest.raises(ValidationError) as refused:
        staff_create(actor=administrator, username="nomail", role="helpdesk")
    assert refused.value.message_dict == {
        "email": ["Give the email address the set-up link goes to."]
    }
    assert not Staff.objects.filter(username="nomail").exists()


def test_administrator_cannot_create_an_administrator(administrator):
    with pytest.raises(PermissionDenied):
        staff_create(actor=administrator, username="x", role="administrator", email="x@example.com")
    assert not Staff.objects.filter(username="x").exists()


def test_owner_creates_an_administrator(owner):
    created = staff_create(
        actor=owner, username="adm2", role="administrator", email="a@example.com"
    )
    assert created.staff.role == "administrator"


def test_taken_username_is_refused_whatever_its_case(administrator):
    StaffFactory(username="nina")
    with pytest.raises(ValidationError) as excinfo:
        staff_create(actor=administrator, username="NINA", role="helpdesk", email="n@example.com")
    assert list(excinfo.value.message_dict) == ["username"]


def test_technician_cannot_create_staff(technician):
    with pytest.raises(PermissionDenied):
        staff_create(actor=technician, username="x", role="read_only", email="x@example.com")


# --- Roles ----------------------------------------------------------------------------------------


def test_change_role_records_old_and_new(administrator):
    tech = StaffFactory(username="tech", role="helpdesk")

    assert staff_change_role(actor=administrator, target=tech, role="user_manager") is True

    tech.refresh_from_db()
    assert tech.role == "user_manager"
    (event,) = _events()
    assert (event.payload["action"], event.payload["changes"]) == (
        "role_changed",
        {"role": {"old": "helpdesk", "new": "user_manager"}},
    )


def test_unchanged_role_records_nothing(administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    assert staff_change_role(actor=administrator, target=tech, role="helpdesk") is False
    assert _events() == []


def test_administrator_cannot_raise_anyone_to_their_own_rank(administrator):
    tech = StaffFactory(username="tech", role="helpdesk")
    with pytest.raises(PermissionDenied):
        staff_change_role(actor=administrator, target=tech, role="administrator")
    with pytest.raises(PermissionDenied):
        staff_change_role(actor=administrator, target=tech, role="owner")
    tech.refresh_from_db()
    assert tech.role == "helpdesk"


def test_administrator_cannot_change_their_own_role(administrator):
    with pytest.raises(PermissionDenied):
        staff_change_role(actor=administrator, target=administrator, role="owner")
    with pytest.raises(PermissionDenied):
        staff_change_role(actor=administrator, target=administrator, role="helpdesk")
    administrator.refresh_from_db()
    assert administrator.role == "administrator"


def test_owner_cannot_change_their_own_role_either(owner):
    with pytest.raises(PermissionDenied):
        staff_change_role(actor=owner, target=owner, role="administrator")


def test_administrator_cannot_change_a_peer_or_an_owner(administrator, owner):
    peer = StaffFactory(username="peer", role="administrator")
    for target in (peer, owner):
        with pytest.raises(PermissionDenied):
            staff_change_role(actor=administrator, target=target, role="helpdesk")


def test_owner_promotes_and_demotes_others(owner):
    tech = StaffFactory(username="tech", role="helpdesk")
    staff_change_role(actor=owner, target=tech, role="administrator")
    staff_change_role(actor=owner, target=tech, role="read_only")
    tech.refresh_from_db()
    assert tech.role == "read_only"


def test_unknown_role_is_refused(owner):
    tech = StaffFactory(username="tech", role="helpdesk")
    with pytest.raises(ValidationError):
        staff_change_role(actor=owner, target=tech, role="wizard")


# --- Units ----------------------------------------------------------------------------------------


def test_set_units_records_old_and_new_names(administrator):
    emea, apac = AdministrativeUnitFactory(name="EMEA"), AdministrativeUnitFactory(name="APAC")
    tech = StaffFactory(username="tech", role="helpdesk")
    emea.staff.add(tech)

    assert staff_set_units(actor=administrator, target=tech, units=[apac, emea]) is True
    assert staff_set_units(actor=administrator, target=tech, units=[emea, apac]) is False

    (event,) = _events()
    assert event.payload["changes"] == {"units": {"old": ["EMEA"], "new": ["APAC", "EMEA"]}}


def test_administrator_cannot_bind_their_own_or_a_peers_units(administrator):
    unit = AdministrativeUnitFactory(name="EMEA")
    peer = StaffFactory(username="peer", role="administrator")
    for target in (administrator, peer):
        with pytest.raises(PermissionDenied):
            staff_set_units(actor=administrator, target=target, units=[unit])


# --- Deactivating ---------------------------------------------------------------------------------


def test_deactivate_switches_the_account_off_and_removes_its_authenticator(administrator):
    tech = make_staff("helpdesk", username="tech")

    assert staff_deactivate(actor=administrator, target=tech) is True

    tech.refresh_from_db()
    assert tech.is_active is False
    assert TOTPDevice.objects.filter(user=tech).count() == 0
    assert tech.has_capability("view_tickets") is False
    (event,) = _events()
    assert (event.payload["action"], event.payload["changes"]) == (
        "deactivated",
        {"active": {"old": True, "new": False}},
    )
    assert staff_deactivate(actor=administrator, target=tech) is False
    assert len(_events()) == 1


def test_nobody_deactivates_themselves(administrator, owner):
    for actor in (administrator, owner):
        with pytest.raises(PermissionDenied):
            staff_deactivate(actor=actor, target=actor)
        actor.refresh_from_db()
        assert actor.is_active is True


def test_administrator_cannot_deactivate_a_peer_or_an_owner(administrator, owner):
    peer = StaffFactory(username="peer", role="administrator")
    for target in (peer, owner):
        with pytest.raises(PermissionDenied):
            staff_deactivate(actor=administrator, target=target)


def test_owner_deactivates_another_owner_but_never_the_last_one(owner):
    second = StaffFactory(username="second-owner", role="owner")
    assert is_last_active_owner(owner) is False

    staff_deactivate(actor=owner, target=second)

    assert is_last_active_owner(owner) is True
    # The owner cannot go either way: not themselves, and not as the last active owner.
    with pytest.raises(PermissionDenied):
        staff_deactivate(actor=owner, target=owner)


def test_last_active_owner_rule_ignores_inactive_owners(owner):
    StaffFactory(username="old-owner", role="owner", is_active=False)
    assert is_last_active_owner(owner) is True


# --- Units ----------------------------------------------------------------------------------------


def test_unit_create_and_update_are_audited(administrator):
    sales, kiosk = GroupFactory(name="Sales"), GroupFactory(name="Kiosk")

    unit = unit_create(actor=administrator, name="EMEA", groups=[sales], description="Europe")
    assert unit_update(
        actor=administrator,
        unit=unit,
        name="EMEA desk",
        groups=[sales, kiosk],
        description="Europe",
    )
    assert not unit_update(
        actor=administrator,
        unit=unit,
        name="EMEA desk",
        groups=[kiosk, sales],
        description="Europe",
    )

    unit.refresh_from_db()
    assert (unit.name, sorted(g.name for g in unit.groups.all())) == (
        "EMEA desk",
        ["Kiosk", "Sales"],
    )
    created, updated = _events()
    assert (created.payload["action"], created.payload["subject"]) == ("unit_created", "unit")
    assert updated.payload["changes"] == {
        "groups": {"old": ["Sales"], "new": ["Kiosk", "Sales"]},
        "name": {"old": "EMEA", "new": "EMEA desk"},
    }


def test_unit_needs_a_unique_name_and_a_group(administrator):
    AdministrativeUnitFactory(name="EMEA")
    with pytest.raises(ValidationError) as excinfo:
        unit_create(actor=administrator, name="emea", groups=[])
    assert sorted(excinfo.value.message_dict) == ["groups", "name"]


def test_unit_changes_need_manage_staff(user_manager):
    with pytest.raises(PermissionDenied):
        unit_create(actor=user_manager, name="X", groups=[GroupFactory(name="G")])
