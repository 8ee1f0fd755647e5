"""What one ticket adds to the dashboard's aggregates, and how a date range maps onto them.

The dashboard (helpdesk.dashboard) defines every figure over the tickets opened in a date
range. Each figure is a sum over tickets, so it is kept as tallies: ``ticket_tallies`` turns
one ticket's rows (the ticket, its escalation / reopen / waiting events, its guided sessions
and their current steps) into a key and a multiset of counts, and the aggregate table holds,
per key and block of days, the sum of those counts over the tickets opened then. The
maintenance (helpdesk.services.dashboard) applies the difference between a ticket's old and
new tallies whenever it changes, and the rebuild sums them from scratch, both through this one
function, so the aggregates are the direct computation by construction; the equivalence test
checks it on random data.

Key: day opened (UTC, days since 1970-01-01), complaint, the end user's groups, the playbook
versions of the ticket's sessions. Tallies (kind, version, bucket, label) -> n:

    tickets, resolved, ef, ef_same, mp, mp_fixed, fcr, bypass, reenrolled   one each
    ttr (bucket)            a resolved ticket's time to resolve, as a histogram bucket
    cause (label)           a resolved ticket's root causes, one each
    esc (label)             one per escalation event, by queue and who escalated
    v_sessions (version)    one per session
    v_outcome (version, label)   one per session, by outcome ("active" / "abandoned" unended)
    v_drop (version, label)      an unended session's last current node
    v_path (version, label)      the nodes a session's current steps walked, one per line
    v_step (version, bucket, label)  per current step: the node and the time since the
                                 previous step (or the session start) as a bucket

Durations are bucketed on a log scale, eight buckets per doubling (each about 9 % wide):
bucket 0 is under a second, bucket b >= 1 covers [2**((b-1)/8), 2**(b/8)) seconds, and a
bucket reads as its geometric middle. A percentile read from the buckets
(``histogram_percentile``) is therefore within one bucket of percentile_cont over the exact
values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from helpdesk.enums import Category, Outcome, TicketStatus, Tier

EPOCH = date(1970, 1, 1)
# Blocks of 1, 2, 4, ... 4096 days: a range of days is at most two blocks per level.
MAX_LEVEL = 12
LAST_DAY = 2**16 - 1  # 2149-06-05
BUCKETS_PER_DOUBLING = 8
PATH_SEPARATOR = "\n"

TICKET_KINDS = (
    "tickets",
    "resolved",
    "ef",
    "ef_same",
    "mp",
    "mp_fixed",
    "fcr",
    "bypass",
    "reenrolled",
    "ttr",
    "cause",
    "esc",
)
SESSION_KINDS = ("v_sessions", "v_outcome", "v_drop", "v_path", "v_step")

Tally = tuple[str, int, int, str]  # kind, version, bucket, label


def day_number(moment: datetime | date) -> int:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return (moment - EPOCH).days


def day_blocks(first: int, last: int) -> list[tuple[int, int, int]]:
    """The fewest aligned blocks covering days first..last: (level, first block, last block)."""
    first, last = max(first, 0), min(last, LAST_DAY)
    blocks = []
    level = 0
    while first <= last:
        if level == MAX_LEVEL:
            blocks.append((level, first, last))
            break
        if first & 1:
            blocks.append((level, first, first))
            first += 1
        if first <= last and not last & 1:
            blocks.append((level, last, last))
            last -= 1
        first, last, level = first >> 1, ((last + 1) >> 1) - 1, level + 1
    return blocks


def bucket_of(duration: timedelta) -> int:
    seconds = duration.total_seconds()
    if seconds < 1:
        return 0
    return 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds))


def bucket_value(bucket: int) -> timedelta:
    """The geometric middle of a bucket (zero for bucket 0)."""
    if bucket <= 0:
        return timedelta(0)
    return timedelta(seconds=2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


def histogram_percentile(histogram: dict[int, int], fraction: float) -> timedelta | None:
    """percentile_cont(fraction) read from bucket counts: the two order statistics it
    interpolates between are each read as their bucket's middle (within about 4.4 % of the
    exact value), then interpolated the same way, so the result is within about 4.4 % of
    percentile_cont over the exact values: at most one bucket away."""
    total = sum(histogram.values())
    if not total:
        return None
    position = fraction * (total - 1)
    lower = math.floor(position)
    upper = min(lower + 1, total - 1)
    values: dict[int, timedelta] = {}
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        for rank in (lower, upper):
            if seen <= rank < seen + count:
                values[rank] = bucket_value(bucket)
        seen += count
        if seen > upper:
            break
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


def escalation_label(to_tier, automatic) -> str:
    try:
        queue = Tier(int(to_tier)).label
    except (TypeError, ValueError):
        queue = "Unknown queue"
    who = "SLA breach" if automatic in (True, "true", 1) else "by a technician"
    return f"{queue}, {who}"


def session_outcome_label(status: str, outcome: str) -> str:
    from troubleshooting.models import SessionStatus

    return outcome or (Outcome.ABANDONED if status == SessionStatus.ABANDONED else status)


def groups_key(group_ids: Iterable[int]) -> str:
    return "," + "".join(f"{g}," for g in sorted(set(group_ids)))


def versions_key(version_ids: Iterable[int]) -> str:
    return "," + "".join(f"{v}," for v in sorted(set(version_ids)))


@dataclass
class SessionFacts:
    version_id: int
    status: str
    outcome: str
    started_at: datetime
    steps: list[tuple[str, datetime]] = field(default_factory=list)  # current, by sequence


@dataclass
class TicketFacts:
    """The rows of one ticket the dashboard reads."""

    opened_at: datetime
    category: str
    status: str
    outcome: str
    resolved_at: datetime | None
    root_causes: list[str]
    group_ids: frozenset[int]
    escalations: list[tuple[object, object]] = field(default_factory=list)  # to_tier, automatic
    reopened: bool = False
    waited: bool = False
    sessions: list[SessionFacts] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (
            day_number(self.opened_at),
            self.category,
            groups_key(self.group_ids),
            versions_key(s.version_id for s in self.sessions),
        )


def ticket_tallies(facts: TicketFacts) -> Counter[Tally]:
    """The counts one ticket adds to each figure (see the module docstring)."""
    from troubleshooting.models import SessionStatus

    tallies: Counter[Tally] = Counter()

    def add(kind: str, version: int = 0, bucket: int = 0, label: str = "") -> None:
        tallies[(kind, version, bucket, label)] += 1

    add("tickets")
    resolved = facts.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and facts.outcome
    escalated = bool(facts.escalations)
    if resolved:
        add("resolved")
        if facts.category == Category.ENROLLMENT_FAILURE:
            add("ef")
            if (
                facts.outcome in (Outcome.ENROLLED, Outcome.RE_ENROLLED)
                and len(facts.sessions) <= 1
                and not facts.reopened
            ):
                add("ef_same")
        if facts.category == Category.MISSING_PROMPT:
            add("mp")
            if facts.outcome == Outcome.PROMPT_RESTORED and not escalated:
                add("mp_fixed")
        if not (escalated or facts.reopened or facts.waited):
            add("fcr")
        if facts.outcome == Outcome.BYPASS_ISSUED:
            add("bypass")
        if facts.outcome == Outcome.RE_ENROLLED:
            add("reenrolled")
        if facts.resolved_at is not None:
            add("ttr", bucket=bucket_of(facts.resolved_at - facts.opened_at))
        for cause in dict.fromkeys(facts.root_causes or []):
            add("cause", label=str(cause))
    for to_tier, automatic in facts.escalations:
        add("esc", label=escalation_label(to_tier, automatic))

    for session in facts.sessions:
        version = session.version_id
        add("v_sessions", version)
        add("v_outcome", version, label=session_outcome_label(session.status, session.outcome))
        if session.steps:
            if session.status != SessionStatus.ENDED:
                add("v_drop", version, label=session.steps[-1][0])
            add("v_path", version, label=PATH_SEPARATOR.join(node for node, _ in session.steps))
            previous = session.started_at
            for node, at in session.steps:
                add("v_step", version, bucket_of(at - previous), node)
                previous = at
    return tallies
