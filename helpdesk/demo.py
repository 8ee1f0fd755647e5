"""The demo world's staff: one login per role, two administrative units.

Used by `manage.py seed_demo` for the README's run command. Idempotent: running it again
resets the demo passwords and memberships and creates nothing twice.
"""

from dataclasses import dataclass
from datetime import timedelta

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


# --- Worked cases, so the supervisor dashboard has something to show ---------------------------

HISTORY_PREFIX = "demo.caller"

# Node paths through the shipped playbooks (ids from troubleshooting/playbooks/*.yaml).
_MP_START = ["status", "fraud", "policy", "authenticators", "ask_device", "devices"]
_EF_START = ["status", "fraud", "policy", "authenticators", "stage", "which_stage"]

# (complaint, group, outcome or "", causes, escalate, wait, minutes to resolve,
#  session: (status, nodes) or None)
_HISTORY = [
    ("missing_prompt", "Finance", "prompt_restored", ["push_notifications_disabled"], False,
     False, 14, ("ended", [*_MP_START, "device_health", "test_sign_in", "why_denied",
                           "ask_notifications", "enable_notifications"])),
    ("missing_prompt", "Engineering", "prompt_restored", ["app_outdated"], False, False, 22,
     ("ended", [*_MP_START, "device_health", "update_app"])),
    ("missing_prompt", "Field Service", "prompt_restored", ["push_token_stale"], True, False,
     190, ("abandoned", [*_MP_START, "device_health"])),
    ("missing_prompt", "Field Service", "", [], False, False, 0,
     ("abandoned", [*_MP_START, "device_health", "test_sign_in", "why_denied",
                    "ask_notifications"])),
    ("missing_prompt", "Finance", "bypass_issued", ["lost_device"], False, False, 35,
     ("ended", [*_MP_START, "ask_device"])),
    ("missing_prompt", "Engineering", "prompt_restored", ["device_offline"], False, True, 95,
     ("abandoned", [*_MP_START, "device_health"])),
    ("enrollment_failure", "Finance", "enrolled", ["activation_email_not_received"], False,
     False, 18, ("ended", [*_EF_START, "which_error", "email_provider", "invitation",
                           "resend_lost_invitation"])),
    ("enrollment_failure", "Field Service", "re_enrolled", ["device_incompatible"], False,
     False, 41, ("ended", [*_EF_START, "which_error"])),
    ("enrollment_failure", "Engineering", "enrolled", ["activation_email_not_received"], False,
     True, 300, ("abandoned", [*_EF_START, "which_error", "email_provider", "invitation",
                               "ask_email", "spam_folder"])),
    ("enrollment_failure", "Warehouse", "", [], False, False, 0,
     ("abandoned", [*_EF_START, "which_error", "email_provider"])),
    ("code_rejected", "Finance", "code_accepted", ["clock_skew"], False, False, 12, None),
    ("locked_out", "Field Service", "", [], True, False, 0, None),
]  # fmt: skip


def seed_history() -> int:
    """Resolved and open cases with guided sessions on the published playbooks, spread over
    the last week, on their own end users (so reseeding the world never touches them).
    Idempotent: does nothing when they exist. Returns the number of tickets created."""
    from enrollment import clock
    from enrollment.models import EndUser
    from helpdesk.enums import Channel, TicketStatus
    from helpdesk.models import Ticket
    from helpdesk.services.tickets import (
        ticket_change_status,
        ticket_escalate,
        ticket_open,
        ticket_resolve,
    )
    from troubleshooting.models import PlaybookVersion

    if Ticket.objects.filter(end_user__username__startswith=HISTORY_PREFIX).exists():
        return 0
    versions = {
        v.playbook.complaint: v
        for v in PlaybookVersion.objects.current().select_related("playbook")
    }
    technician = Staff.objects.get(username="tech")
    now = clock.now()
    created = 0
    with transaction.atomic():
        for n, (complaint, group, outcome, causes, escalate, wait, minutes, session) in enumerate(
            _HISTORY, start=1
        ):
            caller = EndUser.objects.create(
                username=f"{HISTORY_PREFIX}{n}",
                full_name=f"Demo Caller {n}",
                email=f"{HISTORY_PREFIX}{n}@example.com",
            )
            caller.groups.set([Group.objects.get_or_create(name=group)[0]])
            ticket = ticket_open(
                actor=technician,
                end_user=caller,
                subject=complaint.replace("_", " ").capitalize(),
                category=complaint,
                channel=Channel.PHONE,
            )
            # Spread the cases over the last week, each taking its time to resolve.
            opened = now - timedelta(days=n % 7, hours=n)
            version = versions.get(complaint)
            if session and version:
                _demo_session(ticket, version, technician, opened, *session, outcome, causes)
            if wait:
                ticket = ticket_change_status(
                    actor=technician,
                    ticket=ticket,
                    status=TicketStatus.WAITING_ON_USER,
                    expected_version=None,
                )
            if escalate:
                ticket = ticket_escalate(
                    actor=technician,
                    ticket=ticket,
                    reason="Needs a tier 2 look at the account",
                    expected_version=None,
                )
            if outcome:
                ticket = ticket_resolve(
                    actor=technician,
                    ticket=ticket,
                    outcome=outcome,
                    root_causes=causes,
                    expected_version=None,
                )
            changes = {"opened_at": opened, "updated_at": opened + timedelta(minutes=minutes)}
            if outcome:
                changes["resolved_at"] = opened + timedelta(minutes=minutes)
            Ticket.objects.filter(pk=ticket.pk).update(**changes)
            created += 1
    return created


def _demo_session(ticket, version, technician, opened, status, nodes, outcome, causes) -> None:
    """A guided session as the wizard would have left it, with its trail: a session.step
    event for the start, each step and the end, written before the ticket's own status
    changes so the ticket's timeline and the audit review read in the order of the work."""
    from troubleshooting.models import GuidedSession, StepRecord
    from troubleshooting.sessions import session_event_record

    def trail(event: str, **fields) -> None:
        session_event_record(record, technician, event, ticket=ticket, **fields)

    started = opened + timedelta(minutes=2)
    at = started
    record = GuidedSession.objects.create(
        ticket=ticket,
        version=version,
        started_by=technician,
        started_at=started,
        status=status,
        ended_at=started + timedelta(minutes=len(nodes) * 2),
    )
    trail("started")
    kinds = {node["id"]: node.get("kind", "") for node in version.definition.get("nodes", [])}
    for sequence, node in enumerate(nodes, start=1):
        at += timedelta(minutes=1 + sequence % 3)
        StepRecord.objects.create(
            session=record,
            sequence=sequence,
            version=version,
            node=node,
            kind=kinds.get(node, "question"),
            branch="next",
            actor=technician,
            at=at,
        )
        trail("step", sequence=sequence, node=node, kind=kinds.get(node, "question"), branch="next")
    if status == "ended":
        record.outcome = outcome
        record.save(update_fields=["outcome"])
        trail("ended", outcome=outcome, root_causes=list(causes))
    elif status == "abandoned":
        trail("abandoned", outcome="abandoned")
