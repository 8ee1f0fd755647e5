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

# How far the automated caller takes each guided session: to its end node (the session
# resolves or escalates the ticket itself), or this many answered steps before the
# technician abandoned it.
FINISH = "finish"

# (complaint, group, the caller's fault (a root cause of authsim.demo.FAULTS) or None,
#  how far the session went (FINISH, a number of steps, or None for no session),
#  waiting on the user, escalated, outcome the technician resolved with afterwards or "",
#  minutes from opening to the last change)
_HISTORY = [
    ("missing_prompt", "Finance", "push_notifications_disabled", FINISH, False, False, "", 14),
    ("missing_prompt", "Engineering", "app_outdated", FINISH, False, False, "", 22),
    ("missing_prompt", "Field Service", "push_token_stale", 1, False, True, "prompt_restored",
     190),
    ("missing_prompt", "Field Service", "push_notifications_disabled", 2, False, False, "", 0),
    ("missing_prompt", "Finance", "lost_device", FINISH, False, False, "", 35),
    ("missing_prompt", "Engineering", "device_offline", 1, True, False, "prompt_restored", 95),
    ("enrollment_failure", "Finance", "activation_link_expired", FINISH, False, False, "", 18),
    ("enrollment_failure", "Field Service", "device_incompatible", FINISH, False, False, "", 41),
    ("enrollment_failure", "Engineering", "enrollment_incomplete", 2, True, False, "enrolled",
     300),
    ("enrollment_failure", "Warehouse", "enrollment_link_expired", 1, False, False, "", 0),
    ("code_rejected", "Finance", "clock_skew", None, False, False, "code_accepted", 12),
    ("locked_out", "Field Service", "user_locked_out", None, False, True, "", 0),
]  # fmt: skip


def seed_history() -> int:
    """Resolved and open cases spread over the last week, on their own end users (so
    reseeding the world never touches them). Each caller is a real broken end user of the
    demo world (authsim.demo.build_demo_caller) and each guided session is a real one: the
    published playbook worked through the session services by the automated caller that
    simulate_case uses, up to its end or to the step where the technician abandoned it.
    Idempotent: does nothing when they exist. Returns the number of tickets created."""
    # The seeding command is a composition root: it alone brings the simulator (the
    # demo's callers and their automated answers) and the wizard's services together.
    from authsim.demo import build_demo_caller
    from enrollment import clock
    from helpdesk.enums import Channel, TicketStatus
    from helpdesk.models import Ticket
    from helpdesk.services.dashboard import dashboard_ticket_refresh
    from helpdesk.services.tickets import (
        ticket_change_status,
        ticket_escalate,
        ticket_open,
        ticket_resolve,
    )

    if Ticket.objects.filter(end_user__username__startswith=HISTORY_PREFIX).exists():
        return 0
    technician = Staff.objects.get(username="tech")
    supervisor = Staff.objects.get(username="supervisor")
    # The automated caller waits on the simulator's clock; the demo's clock stays where it was.
    offset = clock.offset()
    now = clock.now()
    created = 0
    with transaction.atomic():
        for n, (complaint, group, fault, plan, wait, escalate, outcome, minutes) in enumerate(
            _HISTORY, start=1
        ):
            caller = build_demo_caller(
                n=n,
                username=f"{HISTORY_PREFIX}{n}",
                full_name=f"Demo Caller {n}",
                group=group,
                fault=fault,
            )
            ticket = ticket_open(
                actor=technician,
                end_user=caller,
                subject=complaint.replace("_", " ").capitalize(),
                category=complaint,
                channel=Channel.PHONE,
            )
            # Spread the cases over the last week, each taking its time to resolve.
            opened = now - timedelta(days=n % 7, hours=n)
            if plan is not None:
                _demo_session(ticket, technician, supervisor, opened, plan)
                ticket.refresh_from_db()
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
                    root_causes=[fault] if fault else [],
                    expected_version=None,
                )
            changes = {"opened_at": opened, "updated_at": opened + timedelta(minutes=minutes)}
            if ticket.resolved_at is not None:
                changes["resolved_at"] = opened + timedelta(minutes=minutes)
            Ticket.objects.filter(pk=ticket.pk).update(**changes)
            # The dates were moved by hand: the dashboard's aggregates follow them.
            dashboard_ticket_refresh(ticket.pk)
            created += 1
        clock.advance(offset - clock.offset())
    return created


def _demo_session(ticket, technician, supervisor, opened, plan) -> None:
    """A guided session worked by the automated caller through the same services as the
    wizard: to its end node (FINISH), or `plan` answered steps and then abandoned. Its
    trail is the one those services write; its times are moved to the case's week."""
    from troubleshooting.management.commands.simulate_case import (
        AutomatedCaller,
    )
    from troubleshooting.models import GuidedSession, StepRecord
    from troubleshooting.sessions import session_abandon, session_advance, session_start
    from troubleshooting.simulation import CallerDriver

    session = session_start(actor=technician, ticket=ticket)
    driver = CallerDriver(
        session, technician, caller=AutomatedCaller(ticket.end_user), supervisor=supervisor
    )
    steps = 400 if plan == FINISH else plan
    for _ in range(steps):
        if not session.is_active:
            break
        session_advance(actor=technician, session=session, driver=driver)
    if session.is_active:
        if plan == FINISH:
            raise RuntimeError(f"demo case {ticket.pk}: no end node after {steps} steps")
        session = session_abandon(actor=technician, session=session, reason="Caller hung up")
    # Two minutes after opening, a minute or so per step, as the case's week had it.
    shift = opened + timedelta(minutes=2) - session.started_at
    records = list(StepRecord.objects.filter(session=session).order_by("sequence"))
    for record in records:
        record.at += shift
    StepRecord.objects.bulk_update(records, ["at"])
    GuidedSession.objects.filter(pk=session.pk).update(
        started_at=session.started_at + shift,
        ended_at=(session.ended_at + shift) if session.ended_at else None,
    )
