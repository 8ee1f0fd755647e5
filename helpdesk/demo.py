"""The demo world's staff: one login per role, two administrative units.

Used by `manage.py seed_demo` for the README's run command. Idempotent: running it again
resets the demo passwords and memberships and creates nothing twice.
"""

from dataclasses import dataclass

from django.db import transaction

from enrollment.models import Group
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.roles import Role

DEMO_PASSWORD = "demo-helpdesk"  # noqa: S105 - printed for the demo; never used outside it


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    role: str
    unit: str | None = None


DEMO_STAFF = [
    DemoStaff("owner", "Olivia", "Owens", Role.OWNER),
    DemoStaff("admin", "Ada", "Adeyemi", Role.ADMINISTRATOR),
    DemoStaff("l2", "Liam", "Larsen", Role.USER_MANAGER),
    DemoStaff("tech", "Tess", "Tanaka", Role.HELPDESK),
    DemoStaff("tech.field", "Sam", "Silva", Role.HELPDESK, unit="Field offices"),
    DemoStaff("supervisor", "Sofia", "Schmidt", Role.SUPERVISOR),
    DemoStaff("auditor", "Arthur", "Achebe", Role.READ_ONLY),
]

DEMO_UNITS = {
    "Field offices": ["Field Service", "Warehouse"],
    "Headquarters": ["Finance", "Engineering", "IT Admins"],
}


@transaction.atomic
def seed_staff() -> list[DemoStaff]:
    for unit_name, group_names in DEMO_UNITS.items():
        unit, _ = AdministrativeUnit.objects.get_or_create(name=unit_name)
        unit.groups.set([Group.objects.get_or_create(name=name)[0] for name in group_names])
    for person in DEMO_STAFF:
        staff, _ = Staff.objects.update_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@helpdesk.example.com",
                "role": person.role,
                "is_active": True,
            },
        )
        staff.set_password(DEMO_PASSWORD)
        staff.save(update_fields=["password"])
        staff.administrative_units.set(
            [AdministrativeUnit.objects.get(name=person.unit)] if person.unit else []
        )
    return DEMO_STAFF
