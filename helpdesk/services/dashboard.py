"""Keeping the dashboard's aggregates (helpdesk.dashboard_tallies) equal to the tickets.

``dashboard_ticket_refresh`` is called in the transaction of every change that can move a
figure: a ticket opened, moved, escalated or resolved (helpdesk.services.tickets) and every
guided-session event (troubleshooting.sessions.trail). It reads the ticket's rows again,
computes its tallies, and applies the difference from the tallies it last applied (kept in
DashboardTicketFacts), so after the change commits the aggregates are the sum of every
ticket's current tallies. On PostgreSQL the application takes one transaction-level
advisory lock, so two transactions never wait on each other's tally rows in opposite orders
(no deadlock on the shared rows of wide blocks); the lock is held from the refresh to the
commit, which follows it closely.

``dashboard_rebuild`` recomputes everything from the tickets, events and sessions (the
``rebuild_dashboard`` command, and the end of ``seed_load``).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import Q

from enrollment.models import EndUser
from helpdesk.dashboard_tallies import (
    MAX_LEVEL,
    SessionFacts,
    Tally,
    TicketFacts,
    ticket_tallies,
)
from helpdesk.enums import EventKind, TicketStatus
from helpdesk.models import (
    DashboardGroupSet,
    DashboardTally,
    DashboardTicketFacts,
    Ticket,
    TicketEvent,
)

# pg_advisory_xact_lock key for tally writes ("dashb" in ASCII).
ADVISORY_KEY = 0x6461736862
Key = tuple[int, str, str, str]  # day, category, groups, versions


def load_ticket_facts(ticket_ids: list[int]) -> dict[int, TicketFacts]:
    """The dashboard's view of each ticket: five queries whatever the number of tickets."""
    from troubleshooting.models import GuidedSession, StepRecord

    tickets = list(
        Ticket.objects.filter(pk__in=ticket_ids).values_list(
            "pk",
            "end_user_id",
            "opened_at",
            "category",
            "status",
            "outcome",
            "resolved_at",
            "root_causes",
        )
    )
    groups: dict[int, set[int]] = defaultdict(set)
    through = EndUser.groups.through
    for user_id, group_id in through.objects.filter(
        enduser_id__in={row[1] for row in tickets}
    ).values_list("enduser_id", "group_id"):
        groups[user_id].add(group_id)
    result = {
        pk: TicketFacts(
            opened_at=opened_at,
            category=category,
            status=status,
            outcome=outcome,
            resolved_at=resolved_at,
            root_causes=list(root_causes or []),
            group_ids=frozenset(groups[user_id]),
        )
        for pk, user_id, opened_at, category, status, outcome, resolved_at, root_causes in tickets
    }
    events = TicketEvent.objects.filter(ticket_id__in=ticket_ids).filter(
        Q(kind__in=[EventKind.ESCALATED, EventKind.REOPENED])
        | Q(kind=EventKind.STATUS_CHANGED, payload__to_status=TicketStatus.WAITING_ON_USER)
    )
    for ticket_id, kind, payload in events.order_by("ticket_id", "seq").values_list(
        "ticket_id", "kind", "payload"
    ):
        facts = result[ticket_id]
        if kind == EventKind.ESCALATED:
            facts.escalations.append((payload.get("to_tier"), payload.get("automatic")))
        elif kind == EventKind.REOPENED:
            facts.reopened = True
        else:
            facts.waited = True
    sessions: dict[int, SessionFacts] = {}
    for pk, ticket_id, version_id, status, outcome, started_at in (
        GuidedSession.objects.filter(ticket_id__in=ticket_ids)
        .order_by("pk")
        .values_list("pk", "ticket_id", "version_id", "status", "outcome", "started_at")
    ):
        sessions[pk] = SessionFacts(version_id, status, outcome, started_at)
        result[ticket_id].sessions.append(sessions[pk])
    if sessions:
        for session_id, node, at in (
            StepRecord.objects.filter(session_id__in=sessions, superseded_at__isnull=True)
            .order_by("session_id", "sequence")
            .values_list("session_id", "node", "at")
        ):
            sessions[session_id].steps.append((node, at))
    return result


def _groupset_ids(keys: Iterable[str]) -> dict[str, int]:
    wanted = set(keys)
    DashboardGroupSet.objects.bulk_create(
        [DashboardGroupSet(members=m) for m in sorted(wanted)], ignore_conflicts=True
    )
    return dict(DashboardGroupSet.objects.filter(members__in=wanted).values_list("members", "pk"))


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_KEY])


_COLUMNS = (
    "level",
    "block",
    "category",
    "groupset_id",
    "versions",
    "kind",
    "version",
    "bucket",
    "digest",
    "label",
    "n",
)
_KEY_COLUMNS = ", ".join(c for c in _COLUMNS if c not in ("label", "n"))


def _digest(label: str) -> str:
    return hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()


def _apply(deltas: dict[tuple[Key, Tally], int], *, levels: Iterable[int]) -> None:
    """Adds each delta to its tally row at every level given (sorted, in chunks)."""
    deltas = {k: n for k, n in deltas.items() if n}
    if not deltas:
        return
    groupsets = _groupset_ids(key[2] for key, _ in deltas)
    rows = sorted(
        (
            level,
            day >> level,
            category,
            groupsets[groups],
            versions,
            kind,
            version,
            bucket,
            _digest(label),
            label,
            n,
        )
        for ((day, category, groups, versions), (kind, version, bucket, label)), n in (
            deltas.items()
        )
        for level in levels
    )
    merged: dict[tuple, list] = {}
    for row in rows:
        key = row[:9]
        if key in merged:
            merged[key][10] += row[10]
        else:
            merged[key] = list(row)
    table = DashboardTally._meta.db_table
    values = list(merged.values())
    with connection.cursor() as cursor:
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {placeholders} "  # noqa: S608
                f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET n = {table}.n + EXCLUDED.n",
                [value for row in chunk for value in row],
            )


def _as_deltas(key: Key, tallies: Iterable[tuple[Tally, int]], sign: int) -> Counter:
    return Counter({(key, tally): sign * n for tally, n in tallies})


@transaction.atomic
def dashboard_ticket_refresh(ticket_id: int) -> None:
    """Brings the aggregates in line with the ticket's current rows (call it in the
    transaction of the change, after the change). Seven queries when nothing moved, about ten
    when something did."""
    facts = load_ticket_facts([ticket_id]).get(ticket_id)
    if facts is None:
        return
    key = facts.key
    tallies = ticket_tallies(facts)
    stored = DashboardTicketFacts.objects.select_related("groupset").filter(pk=ticket_id).first()
    new_list = sorted([*tally, n] for tally, n in tallies.items())
    if stored is not None:
        old_key = (stored.day, stored.category, stored.groupset.members, stored.versions)
        if old_key == key and stored.tallies == new_list:
            return
    _lock()
    deltas = _as_deltas(key, tallies.items(), 1)
    if stored is not None:
        deltas.update(
            _as_deltas(old_key, ((tuple(t[:4]), t[4]) for t in stored.tallies), -1)  # type: ignore[misc]
        )
    _apply(deltas, levels=range(MAX_LEVEL + 1))
    groupset_id = _groupset_ids([key[2]])[key[2]]
    DashboardTicketFacts.objects.update_or_create(
        ticket_id=ticket_id,
        defaults={
            "day": key[0],
            "category": key[1],
            "groupset_id": groupset_id,
            "versions": key[3],
            "tallies": new_list,
        },
    )


def dashboard_end_user_refresh(end_user_id: int) -> None:
    """After an end user's groups change: every ticket of theirs moves to the new group set."""
    for ticket_id in Ticket.objects.filter(end_user_id=end_user_id).values_list("pk", flat=True):
        dashboard_ticket_refresh(ticket_id)


@transaction.atomic
def dashboard_rebuild(
    *, batch: int = 5000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recomputes every tally and every ticket's facts from the tickets, events and sessions.
    Holds the tally lock throughout, so changes made meanwhile wait and then apply on top.
    Returns the number of tickets."""
    _lock()
    DashboardTally.objects.all().delete()
    DashboardTicketFacts.objects.all().delete()
    total = Ticket.objects.count()
    pending: Counter = Counter()
    done, last_id = 0, 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        last_id = ids[-1]
        loaded = load_ticket_facts(ids)
        computed = [(pk, facts.key, ticket_tallies(facts)) for pk, facts in loaded.items()]
        groupsets = _groupset_ids({key[2] for _, key, _ in computed})
        DashboardTicketFacts.objects.bulk_create(
            [
                DashboardTicketFacts(
                    ticket_id=pk,
                    day=key[0],
                    category=key[1],
                    groupset_id=groupsets[key[2]],
                    versions=key[3],
                    tallies=sorted([*tally, n] for tally, n in tallies.items()),
                )
                for pk, key, tallies in computed
            ],
            batch_size=1000,
        )
        for _, key, tallies in computed:
            pending.update(_as_deltas(key, tallies.items(), 1))
        if len(pending) > 200_000:
            _apply(pending, levels=[0])
            pending.clear()
        done += len(ids)
        if progress:
            progress(done, total)
    _apply(pending, levels=[0])
    _roll_up()
    return done


def _roll_up() -> None:
    """Levels 1..MAX_LEVEL summed from level 0."""
    table = DashboardTally._meta.db_table
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        for level in range(1, MAX_LEVEL + 1):
            # Integer division by 2**level is block >> level for the non-negative days.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                f"SELECT %s, block / %s, category, groupset_id, versions, kind, version, "
                f"bucket, digest, MIN(label), SUM(n) FROM {table} WHERE level = 0 "
                f"GROUP BY block / %s, category, groupset_id, versions, kind, version, bucket, "
                f"digest",
                [level, 2**level, 2**level],
            )
