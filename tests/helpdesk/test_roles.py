import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from helpdesk.demo import DEMO_PASSWORD, DEMO_STAFF, HISTORY_PREFIX
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.roles import CAPABILITIES, Capability, Role
from helpdesk.scoping import end_user_scope_q, scoped_group_ids
from tests.conftest import make_staff, sign_in
from tests.factories import AdministrativeUnitFactory, GroupFactory


def test_every_role_has_a_row_in_the_capability_table():
    assert set(CAPABILITIES) == set(Role.values)


@pytest.mark.parametrize(
    ("role", "capability", "expected"),
    [
        # Modelled on the vendor's admin-roles matrix.
        (Role.HELPDESK, Capability.RECOVERY_ACTIONS, True),  # devices & bypass codes
        (Role.HELPDESK, Capability.MANAGE_END_USERS, False),  # users and groups
        (Role.USER_MANAGER, Capability.MANAGE_END_USERS, True),
        (Role.USER_MANAGER, Capability.CONFIGURE_POLICY, False),  # global settings
        (Role.ADMINISTRATOR, Capability.CONFIGURE_POLICY, True),
        (Role.ADMINISTRATOR, Capability.MANAGE_ADMINISTRATORS, False),  # other admins
        (Role.OWNER, Capability.MANAGE_ADMINISTRATORS, True),
        (Role.READ_ONLY, Capability.VIEW_TICKETS, True),  # view logs
        (Role.READ_ONLY, Capability.WORK_TICKETS, False),
        (Role.SUPERVISOR, Capability.APPROVE_SENSITIVE, True),
        (Role.SUPERVISOR, Capability.RECOVERY_ACTIONS, False),
        (Role.HELPDESK, Capability.APPROVE_SENSITIVE, False),
    ],
)
def test_capability_table(role, capability, expected):
    assert (capability in CAPABILITIES[role]) is expected


def test_inactive_staff_have_no_capabilities(db):
    staff = make_staff(Role.OWNER, is_active=False)

    assert staff.capabilities == frozenset()
    assert staff.has_capability(Capability.VIEW_TICKETS) is False


def test_staff_role_is_constrained_in_the_database(db):
    from django.db import IntegrityError

    staff = make_staff(Role.HELPDESK)
    with pytest.raises(IntegrityError):
        Staff.objects.filter(pk=staff.pk).update(role="superhero")


def test_unbound_staff_and_owners_are_unrestricted(db):
    group = GroupFactory()
    tech = make_staff(Role.HELPDESK)
    owner = make_staff(Role.OWNER)
    AdministrativeUnitFactory(groups=[group], staff=[owner])

    assert scoped_group_ids(tech) is None
    assert scoped_group_ids(owner) is None
    assert end_user_scope_q(tech) == end_user_scope_q(owner)


def test_bound_staff_are_limited_to_their_units_groups(db):
    sales, finance, hr = (
        GroupFactory(name="Sales"),
        GroupFactory(name="Finance"),
        GroupFactory(name="HR"),
    )
    tech = make_staff(Role.HELPDESK)
    AdministrativeUnitFactory(name="A", groups=[sales, finance], staff=[tech])
    AdministrativeUnitFactory(name="B", groups=[hr])

    assert scoped_group_ids(tech) == frozenset({sales.pk, finance.pk})


def test_a_unit_with_no_groups_restricts_to_nothing(db):
    tech = make_staff(Role.HELPDESK)
    AdministrativeUnit.objects.create(name="Empty").staff.add(tech)

    assert scoped_group_ids(tech) == frozenset()


def _admin_change(client: Client, target: Staff, role: str):
    url = reverse("admin:helpdesk_staff_change", args=[target.pk])
    return client.post(
        url,
        {
            "username": target.username,
            "first_name": target.first_name,
            "last_name": target.last_name,
            "email": target.email,
            "role": role,
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )


def test_administrator_cannot_raise_their_own_role(db):
    admin = make_staff(Role.ADMINISTRATOR)
    client = sign_in(Client(), admin)

    response = _admin_change(client, admin, Role.OWNER)

    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.role == Role.ADMINISTRATOR


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMINISTRATOR])
def test_roles_change_on_the_staff_pages_never_in_the_django_admin(db, role):
    # The admin's form would skip the rank rule's refusal events and the unit rules.
    actor = make_staff(role)
    tech = make_staff(Role.HELPDESK)
    client = sign_in(Client(), actor)

    response = _admin_change(client, tech, Role.SUPERVISOR)

    assert response.status_code == 403
    tech.refresh_from_db()
    assert tech.role == Role.HELPDESK


def test_seed_demo_creates_one_login_per_role_and_can_run_twice(db, capsys):
    from enrollment.models import EndUser

    call_command("seed_demo", "--users", "12")
    call_command("seed_demo", "--users", "12")

    out = capsys.readouterr().out
    # The world's end users, plus the callers of the worked cases (seeded once).
    assert EndUser.objects.exclude(username__startswith=HISTORY_PREFIX).count() == 12
    assert out.count("Demo cases: 12 tickets with guided sessions.") == 1
    assert "Demo world ready: 12 end users." in out
    # Published once: the second run finds the files unchanged.
    from troubleshooting.conf import playbook_dir
    from troubleshooting.models import PlaybookVersion

    # The shipped files and the diagnosis compiled from the root-cause catalog.
    shipped = {path.stem for path in playbook_dir().glob("*.yaml")} | {"diagnose"}
    assert set(PlaybookVersion.objects.values_list("playbook__slug", "number")) == {
        (slug, 1) for slug in shipped
    }
    # Every unit's groups exist in the seeded directory and hold some of its users.
    field_offices = AdministrativeUnit.objects.get(name="Field offices")
    assert sorted(field_offices.groups.values_list("name", flat=True)) == [
        "Field Service",
        "Warehouse",
    ]
    assert {s.role for s in Staff.objects.all()} == set(Role.values)
    assert Staff.objects.count() == len(DEMO_STAFF)
    assert f"password for all: {DEMO_PASSWORD}" in out
    field_tech = Staff.objects.get(username="tech.field")
    assert field_tech.check_password(DEMO_PASSWORD)
    assert list(field_tech.administrative_units.values_list("name", flat=True)) == ["Field offices"]
    assert scoped_group_ids(Staff.objects.get(username="tech")) is None


def test_create_staff_command_emails_the_owner_a_set_up_link(
    db, capsys, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_staff", "alice", "--role", "owner", "--email", "alice@example.com")

    alice = Staff.objects.get(username="alice")
    assert (alice.role, alice.has_usable_password()) == (Role.OWNER, False)
    assert "A one-time set-up link was sent to alice@example.com." in capsys.readouterr().out
    (mail,) = mailoutbox
    assert (mail.to, "/setup/" in mail.body) == (["alice@example.com"], True)


def test_create_staff_command_prints_the_link_for_the_person_at_the_terminal(
    db, capsys, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_staff", "alice", "--role", "owner", "--print-link")

    out = capsys.readouterr().out
    assert "Set-up link (works once): http://127.0.0.1:8000/setup/" in out
    assert mailoutbox == []  # the task finds the token made already and sends nothing


def test_create_staff_command_refuses_no_email_and_a_duplicate(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"Give --email"):
        call_command("create_staff", "bob", "--role", "helpdesk")
    make_staff(Role.HELPDESK, username="carol")
    with pytest.raises(CommandError, match=r"A staff account named 'carol' already exists\."):
        call_command("create_staff", "carol", "--role", "helpdesk", "--email", "c@example.com")
    assert not Staff.objects.filter(username="bob").exists()
