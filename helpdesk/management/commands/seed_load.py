"""Fills the database with many tickets and their audit events, fast, for the benchmark.

    python manage.py seed_load --tickets 1000000 --events-per-ticket 10

Rows go in with bulk inserts (COPY on PostgreSQL, bulk_create elsewhere), never through the
services, but every event is hashed and chained exactly as ticket_event_record would, and
every ticket's chain head is set, so `verify_audit` passes on the result. Most tickets are
closed (as at a real desk); ``--open-percent`` of them stay open, spread over the statuses.

Besides tickets it creates (once) twenty directory groups, one administrative unit holding
them all, end users spread over the groups, and two staff members bound to the unit:
``bench-tech`` (helpdesk) and ``bench-l2`` (user manager), whose password is given by
``--password`` (the benchmark signs in by creating sessions directly).
"""

import json
import random
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from enrollment.models import EndUser, Group
from helpdesk.enums import (
    OPEN_STATUSES,
    SLA_BY_PRIORITY,
    Category,
    Channel,
    EventKind,
    Outcome,
    Priority,
    TicketStatus,
)
from helpdesk.models import GENESIS_HASH, AdministrativeUnit, Staff, Ticket, TicketEvent
from helpdesk.roles import Role
from helpdesk.services.audit import canonical_time, event_hash, ticket_stream

GROUPS = 20
CATEGORIES = Category.values
CHANNELS = Channel.values
PRIORITIES = [Priority.NORMAL] * 6 + [Priority.LOW] * 2 + [Priority.HIGH, Priority.URGENT]
SUBJECTS = [
    "Phone shows no prompt",
    "Code rejected at VPN sign-in",
    "Never finished enrolling",
    "SMS code never arrives",
    "Locked out after travel",
    "Lost phone, needs access today",
    "New phone, old authenticator",
    "Hardware token out of sync",
]
TICKET_COLUMNS = [
    "id",
    "end_user_id",
    "subject",
    "description",
    "category",
    "channel",
    "priority",
    "status",
    "tier",
    "assignee_id",
    "opened_by_id",
    "root_causes",
    "outcome",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "updated_at",
    "sla_due_at",
    "sla_breached_at",
    "search_text",
    "version",
    "chain_seq",
    "chain_hash",
]
EVENT_COLUMNS = [
    "ticket_id",
    "stream",
    "seq",
    "kind",
    "actor_id",
    "end_user_id",
    "occurred_at",
    "payload",
    "prev_hash",
    "hash",
]


class Command(BaseCommand):
    help = "Bulk-load tickets with hash-chained events (for the benchmark)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, required=True)
        parser.add_argument("--events-per-ticket", type=int, default=10)
        parser.add_argument("--open-percent", type=float, default=5.0)
        parser.add_argument("--end-users", type=int, default=None)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--password", default="bench-password-not-secret")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **options) -> None:
        tickets, per_ticket = options["tickets"], options["events_per_ticket"]
        if tickets < 1 or per_ticket < 1:
            raise CommandError("--tickets and --events-per-ticket must be at least 1.")
        rng = random.Random(options["seed"])  # noqa: S311 - repeatable load data, not secrets
        tech, l2, user_ids = self._world(options)
        start_id = (Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        base = datetime(2026, 1, 1, tzinfo=UTC)
        done = 0
        while done < tickets:
            size = min(options["batch"], tickets - done)
            ticket_rows, event_rows = [], []
            for offset in range(size):
                number = start_id + done + offset
                ticket, events = _ticket(
                    number, rng, user_ids, tech, l2, base, per_ticket, options["open_percent"]
                )
                ticket_rows.append(ticket)
                event_rows.extend(events)
            with transaction.atomic():
                _insert(Ticket, TICKET_COLUMNS, ticket_rows)
                _insert(TicketEvent, EVENT_COLUMNS, event_rows)
            done += size
            self.stdout.write(f"{done}/{tickets} tickets", ending="\r")
            self.stdout.flush()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("helpdesk_ticket", "helpdesk_ticketevent"):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                cursor.execute("ANALYZE helpdesk_ticket")
                cursor.execute("ANALYZE helpdesk_ticketevent")
        self.stdout.write(f"\nLoaded {tickets} tickets with {tickets * per_ticket} events.")

    def _world(self, options) -> tuple[Staff, Staff, list[int]]:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        groups = [Group.objects.get_or_create(name=f"Bench group {i}")[0] for i in range(GROUPS)]
        unit, _ = AdministrativeUnit.objects.get_or_create(name="Bench unit")
        unit.groups.set(groups)
        staff = []
        for username, role in (("bench-tech", Role.HELPDESK), ("bench-l2", Role.USER_MANAGER)):
            member, created = Staff.objects.get_or_create(
                username=username, defaults={"role": role, "first_name": username}
            )
            if created:
                member.set_password(options["password"])
                member.save()
                TOTPDevice.objects.create(user=member, name="Bench", confirmed=True)
            unit.staff.add(member)
            staff.append(member)
        wanted = options["end_users"] or max(1, min(options["tickets"] // 5, 200_000))
        existing = EndUser.objects.filter(username__startswith="bench.user").count()
        if existing < wanted:
            now = datetime.now(UTC)
            EndUser.objects.bulk_create(
                [
                    EndUser(
                        username=f"bench.user{i}",
                        full_name=f"Bench User {i}",
                        email=f"bench.user{i}@example.com",
                        mobile=f"+1415{i % 10_000_000:07d}",
                        created_at=now,
                        updated_at=now,
                    )
                    for i in range(existing, wanted)
                ],
                batch_size=5000,
            )
            through = EndUser.groups.through
            new_users = EndUser.objects.filter(username__startswith="bench.user").values_list(
                "id", flat=True
            )
            through.objects.bulk_create(
                [through(enduser_id=uid, group_id=groups[uid % GROUPS].pk) for uid in new_users],
                batch_size=5000,
                ignore_conflicts=True,
            )
        users = list(
            EndUser.objects.filter(username__startswith="bench.user").values_list(
                "id", "username", "full_name", "email"
            )
        )
        return staff[0], staff[1], users


def _ticket(number, rng, users, tech, l2, base, per_ticket, open_percent):
    """One ticket row and its chained event rows."""
    user_id, username, full_name, email = users[number % len(users)]
    opened = base + timedelta(seconds=number * 7)
    priority = rng.choice(PRIORITIES)
    category = rng.choice(CATEGORIES)
    channel = rng.choice(CHANNELS)
    subject = SUBJECTS[number % len(SUBJECTS)]
    is_open = rng.random() * 100 < open_percent
    status = rng.choice(OPEN_STATUSES) if is_open else TicketStatus.CLOSED
    assignee = rng.choice([tech, l2, None]) if is_open else tech
    sla_due = opened + SLA_BY_PRIORITY[priority]

    plan = _event_plan(per_ticket, status, assignee, tech, category, channel, priority, subject)
    events, prev = [], GENESIS_HASH
    moment = opened
    for seq, (kind, actor, payload) in enumerate(plan, start=1):
        actor_id = actor.pk if actor else None
        if kind == EventKind.OPENED:
            payload["sla_due_at"] = canonical_time(sla_due)
        digest = event_hash(
            stream=ticket_stream(number),
            seq=seq,
            kind=kind,
            actor_id=actor_id,
            end_user_id=user_id,
            occurred_at=moment,
            payload=payload,
            prev_hash=prev,
        )
        events.append(
            (
                number,
                "",
                seq,
                kind,
                actor.pk if actor else None,
                user_id,
                moment,
                payload,
                prev,
                digest,
            )
        )
        prev = digest
        moment += timedelta(minutes=3)
    last = events[-1][6]
    closed = status == TicketStatus.CLOSED
    ticket = (
        number,
        user_id,
        subject,
        "",
        category,
        channel,
        priority,
        status,
        2 if status == TicketStatus.ESCALATED else 1,
        assignee.pk if assignee else None,
        tech.pk,
        ["push_notifications_disabled"] if closed else [],
        Outcome.PROMPT_RESTORED if closed else "",
        opened,
        opened + timedelta(minutes=3) if per_ticket > 1 else None,
        last if closed else None,
        last if closed else None,
        last,
        sla_due,
        None,
        f"{subject} {username} {full_name} {email}",
        len(plan),
        len(plan),
        prev,
    )
    return ticket, events


def _event_plan(per_ticket, status, assignee, tech, category, channel, priority, subject):
    opened = (
        EventKind.OPENED,
        tech,
        {
            "subject": subject,
            "category": category,
            "channel": channel,
            "priority": priority,
            "assignee_id": None,
            "assignee": None,
        },
    )
    middle = [
        (
            EventKind.ASSIGNED,
            tech,
            {
                "from_assignee_id": None,
                "to_assignee_id": assignee.pk if assignee else None,
                "from_assignee": None,
                "to_assignee": assignee.username if assignee else None,
            },
        ),
        (
            EventKind.STATUS_CHANGED,
            tech,
            {"from_status": "new", "to_status": "in_progress", "note": ""},
        ),
    ]
    ending = []
    if status == TicketStatus.CLOSED:
        ending = [
            (
                EventKind.RESOLVED,
                tech,
                {
                    "from_status": "in_progress",
                    "outcome": "prompt_restored",
                    "root_causes": ["push_notifications_disabled"],
                    "note": "",
                },
            ),
            (
                EventKind.STATUS_CHANGED,
                tech,
                {"from_status": "resolved", "to_status": "closed", "note": ""},
            ),
        ]
    plan = [opened, *middle]
    comments = per_ticket - len(plan) - len(ending)
    plan += [
        (EventKind.COMMENTED, tech, {"body": f"Worked the case, step {i + 1}."})
        for i in range(max(0, comments))
    ]
    plan = (plan + ending)[:per_ticket] if comments >= 0 else plan[:per_ticket]
    return plan


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        _copy(model._meta.db_table, columns, rows)
        return
    objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=500)


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY FROM STDIN in text format: the fastest bulk insert PostgreSQL offers."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copy_value(v) for v in row])


def _copy_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value
