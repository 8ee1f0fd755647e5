"""Supervisor dashboard: outcome metrics and playbook analytics, computed in the database.

Which tickets count
    Tickets *opened* in the date range (UTC days, both ends included) about end users the
    viewer may see (administrative units, as everywhere else). The team filter is an
    administrative unit: a ticket belongs to a team when its end user is in one of the unit's
    groups, the same rule that scopes the staff bound to that unit. The complaint filter is
    the ticket's category; the playbook-version filter keeps tickets with at least one guided
    session on that version.

Metrics (each a share of the resolved tickets it names; a ticket counts as resolved when it
is resolved or closed with an outcome)
    - enrollments completed in the same session: enrollment_failure tickets resolved
      ``enrolled`` or ``re_enrolled`` with at most one guided session and never reopened;
    - prompts restored without escalation: missing_prompt tickets resolved
      ``prompt_restored`` that were never escalated;
    - first-contact resolution: resolved tickets never set waiting on the user, never
      escalated and never reopened;
    - bypass and re-enrollment rates: outcomes ``bypass_issued`` and ``re_enrolled``;
    - escalations by reason: escalation events by target queue (tier 2 or security) and by
      who escalated (a technician, or the SLA task on a breach);
    - time to resolve: p50 and p90 of resolved_at - opened_at (PostgreSQL's
      percentile_cont; the same linear interpolation in Python on SQLite);
    - cases per root cause: resolved tickets naming each cause.

Per playbook version (sessions on the filtered tickets)
    - outcome mix: sessions by outcome (unfinished ones as "active" / "abandoned");
    - drop-off per node: sessions that did not end, by the node of their last current step;
    - most common paths: the sequences of nodes the current steps walked;
    - time per step: median time from the previous step (or the session start) to each node.

The page reads ``dashboard_metrics`` and ``dashboard_version_analytics``: the same figures from
the aggregates of helpdesk.dashboard_tallies (kept by helpdesk.services.dashboard), a bounded
number of rows whatever the range. The ``*_direct`` functions compute them over the rows
themselves; they are the definition the aggregates are tested against. Every function here
issues a fixed number of queries whatever the number of tickets.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpdesk.dashboard_tallies import (
    LAST_DAY,
    PATH_SEPARATOR,
    SESSION_KINDS,
    TICKET_KINDS,
    Tally,
    day_blocks,
    day_number,
    escalation_label,
    histogram_percentile,
)
from helpdesk.enums import Category, EventKind, Outcome, TicketStatus
from helpdesk.models import (
    AdministrativeUnit,
    DashboardGroupSet,
    DashboardTally,
    Staff,
    Ticket,
    TicketEvent,
)
from helpdesk.scoping import end_user_scope_q, scoped_group_ids
from troubleshooting.models import GuidedSession, PlaybookVersion, SessionStatus, StepRecord

# How many of the most common paths each version shows.
TOP_PATHS = 5


@dataclass(frozen=True)
class DashboardQuery:
    date_from: date | None = None
    date_to: date | None = None
    unit: int | None = None
    complaint: str = ""
    version: int | None = None


@dataclass
class Share:
    label: str
    numerator: int
    denominator: int
    help: str = ""

    @property
    def percent(self) -> float | None:
        if not self.denominator:
            return None
        return round(100 * self.numerator / self.denominator, 1)


@dataclass
class Metrics:
    tickets: int
    resolved: int
    shares: list[Share]
    escalations: list[tuple[str, int]]
    time_to_resolve_p50: timedelta | None
    time_to_resolve_p90: timedelta | None
    root_causes: list[tuple[str, int]]


@dataclass
class VersionAnalytics:
    version: PlaybookVersion
    sessions: int = 0
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    drop_off: list[tuple[str, int]] = field(default_factory=list)
    paths: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    step_times: list[tuple[str, timedelta, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The version as the CSV export keys it."""
        return f"{self.version.playbook.slug} v{self.version.number}"

    @property
    def title(self) -> str:
        """The version as people read it."""
        return f"{self.version.playbook.title} v{self.version.number}"


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate percentile_cont(fraction) over an expression."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """percentile_cont's linear interpolation, for databases without it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# --- Choices for the filter form ------------------------------------------------------------------


def dashboard_unit_choices(staff: Staff) -> QuerySet[AdministrativeUnit]:
    """The teams the viewer may filter by: their own units, or every unit when unrestricted."""
    units = AdministrativeUnit.objects.order_by("name")
    if scoped_group_ids(staff) is not None:
        units = units.filter(staff=staff)
    return units


def dashboard_version_choices() -> QuerySet[PlaybookVersion]:
    return (
        PlaybookVersion.objects.select_related("playbook")
        .only("pk", "number", "content_hash", "definition", "playbook__slug", "playbook__title")
        .order_by("playbook__slug", "-number")
    )


# --- The tickets a query covers -------------------------------------------------------------------


def dashboard_tickets(staff: Staff, query: DashboardQuery) -> QuerySet[Ticket]:
    """The tickets the metrics cover (unevaluated; used as a subquery)."""
    tickets = Ticket.objects.all()
    scope = end_user_scope_q(staff, groups_path="end_user__groups")
    if scope:
        tickets = tickets.filter(pk__in=Ticket.objects.filter(scope).values("pk"))
    if query.date_from:
        tickets = tickets.filter(opened_at__gte=_day_start(query.date_from))
    if query.date_to:
        tickets = tickets.filter(opened_at__lt=_day_start(query.date_to + timedelta(days=1)))
    if query.complaint:
        tickets = tickets.filter(category=query.complaint)
    if query.unit:
        tickets = tickets.filter(
            pk__in=Ticket.objects.filter(end_user__groups__administrative_units=query.unit).values(
                "pk"
            )
        )
    if query.version:
        tickets = tickets.filter(
            pk__in=GuidedSession.objects.filter(version_id=query.version).values("ticket_id")
        )
    return tickets


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_fixed_timezone(0))


def _event(kind: str, **payload) -> Exists:
    return Exists(
        TicketEvent.objects.filter(
            ticket=OuterRef("pk"), kind=kind, **{f"payload__{k}": v for k, v in payload.items()}
        )
    )


# --- Outcome metrics ------------------------------------------------------------------------------

RESOLVED = Q(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED]) & ~Q(outcome="")


def dashboard_metrics_direct(staff: Staff, query: DashboardQuery) -> Metrics:
    """The figures computed over the tickets themselves (the definition the aggregates are
    tested against; its cost grows with the tickets in range). Three queries (four on
    databases without percentile_cont)."""
    tickets = dashboard_tickets(staff, query)
    sessions = (
        GuidedSession.objects.filter(ticket=OuterRef("pk"))
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    annotated = tickets.annotate(
        escalated=_event(EventKind.ESCALATED),
        reopened=_event(EventKind.REOPENED),
        waited=_event(EventKind.STATUS_CHANGED, to_status=TicketStatus.WAITING_ON_USER),
        session_count=Coalesce(Subquery(sessions, output_field=IntegerField()), Value(0)),
        duration=ExpressionWrapper(F("resolved_at") - F("opened_at"), output_field=DurationField()),
    )
    ef = Q(category=Category.ENROLLMENT_FAILURE) & RESOLVED
    mp = Q(category=Category.MISSING_PROMPT) & RESOLVED
    aggregates = {
        "tickets": Count("pk"),
        "resolved": Count("pk", filter=RESOLVED),
        "ef": Count("pk", filter=ef),
        "ef_same": Count(
            "pk",
            filter=ef
            & Q(outcome__in=[Outcome.ENROLLED, Outcome.RE_ENROLLED])
            & Q(session_count__lte=1, reopened=False),
        ),
        "mp": Count("pk", filter=mp),
        "mp_fixed": Count("pk", filter=mp & Q(outcome=Outcome.PROMPT_RESTORED, escalated=False)),
        "fcr": Count("pk", filter=RESOLVED & Q(escalated=False, reopened=False, waited=False)),
        "bypass": Count("pk", filter=RESOLVED & Q(outcome=Outcome.BYPASS_ISSUED)),
        "reenrolled": Count("pk", filter=RESOLVED & Q(outcome=Outcome.RE_ENROLLED)),
    }
    if settings.USING_POSTGRES:
        resolved_duration = F("duration")
        aggregates["p50"] = PercentileCont(
            resolved_duration, 0.5, filter=RESOLVED, output_field=DurationField()
        )
        aggregates["p90"] = PercentileCont(
            resolved_duration, 0.9, filter=RESOLVED, output_field=DurationField()
        )
    row = annotated.aggregate(**aggregates)
    if settings.USING_POSTGRES:
        p50, p90 = row["p50"], row["p90"]
    else:
        durations = list(annotated.filter(RESOLVED).values_list("duration", flat=True))
        p50, p90 = percentile(durations, 0.5), percentile(durations, 0.9)

    escalations = Counter()
    for to_tier, automatic, n in (
        TicketEvent.objects.filter(kind=EventKind.ESCALATED, ticket__in=tickets.values("pk"))
        .values_list("payload__to_tier", "payload__automatic")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        escalations[escalation_label(to_tier, automatic)] += n

    causes = Counter()
    for listed in tickets.filter(RESOLVED).values_list("root_causes", flat=True):
        causes.update(dict.fromkeys(listed or [], 1))

    shares = _shares(row)
    return Metrics(
        tickets=row["tickets"],
        resolved=row["resolved"],
        shares=shares,
        escalations=sorted(escalations.items(), key=lambda kv: (-kv[1], kv[0])),
        time_to_resolve_p50=p50,
        time_to_resolve_p90=p90,
        root_causes=sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
    )


def _shares(row) -> list[Share]:
    return [
        Share(
            "Enrollments completed in the same session",
            row["ef_same"],
            row["ef"],
            "Resolved enrollment-failure cases ending enrolled or re-enrolled in one guided "
            "session, never reopened.",
        ),
        Share(
            "Prompts restored without escalation",
            row["mp_fixed"],
            row["mp"],
            "Resolved missing-prompt cases ending prompt restored, never escalated.",
        ),
        Share(
            "First-contact resolution",
            row["fcr"],
            row["resolved"],
            "Resolved cases never waiting on the user, escalated or reopened.",
        ),
        Share("Bypass rate", row["bypass"], row["resolved"], "Resolved by a bypass code."),
        Share("Re-enrollment rate", row["reenrolled"], row["resolved"], "Resolved re-enrolled."),
    ]


# --- Per playbook version -------------------------------------------------------------------------


def dashboard_version_analytics_direct(
    staff: Staff, query: DashboardQuery
) -> list[VersionAnalytics]:
    """The per-version figures computed over the sessions themselves (the definition the
    aggregates are tested against). Four queries: versions, outcome mix, open sessions, current
    steps."""
    tickets = dashboard_tickets(staff, query).values("pk")
    sessions = GuidedSession.objects.filter(ticket__in=tickets)
    if query.version:
        sessions = sessions.filter(version_id=query.version)
    versions = {
        v.pk: VersionAnalytics(version=v)
        for v in PlaybookVersion.objects.filter(pk__in=sessions.values("version_id"))
        .select_related("playbook")
        .order_by("playbook__slug", "-number")
    }
    if not versions:
        return []

    for version_id, status, outcome, n in (
        sessions.values_list("version_id", "status", "outcome").annotate(n=Count("pk")).order_by()
    ):
        label = outcome or (Outcome.ABANDONED if status == SessionStatus.ABANDONED else status)
        analytics = versions[version_id]
        analytics.sessions += n
        analytics.outcomes.append((label, n))

    # Drop-off: the last current step of each session that did not end, read off the same
    # ordered steps as the paths (a correlated "last step" subquery has no plan that holds up
    # on every table's statistics).
    open_sessions = set(sessions.exclude(status=SessionStatus.ENDED).values_list("pk", flat=True))
    paths: dict[int, Counter] = defaultdict(Counter)
    times: dict[int, dict[str, list[timedelta]]] = defaultdict(lambda: defaultdict(list))
    walked: dict[int, list[str]] = defaultdict(list)
    session_version: dict[int, int] = {}
    previous: dict[int, datetime] = {}
    for session_id, version_id, started_at, node, at in (
        StepRecord.objects.filter(session__in=sessions, superseded_at__isnull=True)
        .order_by("session_id", "sequence")
        .values_list("session_id", "session__version_id", "session__started_at", "node", "at")
    ):
        session_version[session_id] = version_id
        walked[session_id].append(node)
        times[version_id][node].append(at - previous.get(session_id, started_at))
        previous[session_id] = at
    for session_id, nodes in walked.items():
        paths[session_version[session_id]][tuple(nodes)] += 1
    drop_off: dict[int, Counter] = defaultdict(Counter)
    for session_id in open_sessions & walked.keys():
        drop_off[session_version[session_id]][walked[session_id][-1]] += 1
    for version_id, counts in drop_off.items():
        versions[version_id].drop_off.extend(counts.items())

    for version_id, analytics in versions.items():
        analytics.outcomes.sort(key=lambda kv: (-kv[1], kv[0]))
        analytics.drop_off.sort(key=lambda kv: (-kv[1], kv[0]))
        analytics.paths = sorted(paths[version_id].items(), key=lambda kv: (-kv[1], kv[0]))[
            :TOP_PATHS
        ]
        analytics.step_times = sorted(
            (
                (node, statistics.median(spent), len(spent))
                for node, spent in times[version_id].items()
            ),
            key=lambda item: item[0],
        )
    return list(versions.values())


# --- The same figures from the aggregates (what the dashboard shows) ------------------------------
#
# helpdesk.dashboard_tallies keeps, per block of days, key and figure, the sum of every ticket's
# contribution; a date range is a handful of blocks (at most two per level), so each function
# below reads a number of rows bounded by the number of distinct keys, not by the tickets.
# Counts equal the direct computation above; percentiles and medians come from duration
# histograms and are within one bucket (about 9 %) of it.


def _selected_groupsets(staff: Staff, query: DashboardQuery) -> list[int] | None:
    """The group sets the viewer's units and the team filter both reach (None: every one)."""
    scope = scoped_group_ids(staff)
    team = None
    if query.unit:
        team = frozenset(
            AdministrativeUnit.groups.through.objects.filter(
                administrativeunit_id=query.unit
            ).values_list("group_id", flat=True)
        )
    if scope is None and team is None:
        return None
    selected = []
    for pk, members in DashboardGroupSet.objects.values_list("pk", "members"):
        groups = {int(part) for part in members.split(",") if part}
        if (scope is None or groups & scope) and (team is None or groups & team):
            selected.append(pk)
    return selected


def _tallies(staff: Staff, query: DashboardQuery, kinds: tuple[str, ...]) -> dict[Tally, int]:
    """Two to four queries: the viewer's groups and the team's (when restricted), the group
    sets, the summed tallies."""
    first = day_number(query.date_from) if query.date_from else 0
    last = day_number(query.date_to) if query.date_to else LAST_DAY
    blocks = Q(pk__in=[])
    for level, low, high in day_blocks(first, last):
        blocks |= Q(level=level, block__gte=low, block__lte=high)
    rows = DashboardTally.objects.filter(blocks, kind__in=kinds)
    if query.complaint:
        rows = rows.filter(category=query.complaint)
    if query.version:
        rows = rows.filter(
            Q(version=0) | Q(version=query.version), versions__contains=f",{query.version},"
        )
    groupsets = _selected_groupsets(staff, query)
    if groupsets is not None:
        rows = rows.filter(groupset_id__in=groupsets)
    summed = (
        rows.values_list("kind", "version", "bucket", "label").annotate(total=Sum("n")).order_by()
    )
    # Plain tuples from the cursor: thousands of rows through the ORM's per-value converters
    # cost more than the query itself.
    try:
        sql, params = summed.query.sql_with_params()
    except EmptyResultSet:
        return {}  # nothing can match (a staff member whose units hold no groups yet)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(kind, v, b, label): int(n) for kind, v, b, label, n in cursor.fetchall() if n}


def dashboard_metrics(staff: Staff, query: DashboardQuery) -> Metrics:
    """The outcome metrics from the aggregates: at most four queries at any size."""
    tallies = _tallies(staff, query, TICKET_KINDS)
    counts: Counter = Counter()
    ttr: dict[int, int] = {}
    escalations: Counter = Counter()
    causes: Counter = Counter()
    for (kind, _version, bucket, label), n in tallies.items():
        if kind == "ttr":
            ttr[bucket] = ttr.get(bucket, 0) + n
        elif kind == "esc":
            escalations[label] += n
        elif kind == "cause":
            causes[label] += n
        else:
            counts[kind] += n
    return Metrics(
        tickets=counts["tickets"],
        resolved=counts["resolved"],
        shares=_shares(counts),
        escalations=sorted(escalations.items(), key=lambda kv: (-kv[1], kv[0])),
        time_to_resolve_p50=histogram_percentile(ttr, 0.5),
        time_to_resolve_p90=histogram_percentile(ttr, 0.9),
        root_causes=sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
    )


def dashboard_version_analytics(staff: Staff, query: DashboardQuery) -> list[VersionAnalytics]:
    """The per-version figures from the aggregates: at most five queries at any size."""
    tallies = _tallies(staff, query, SESSION_KINDS)
    sessions: Counter = Counter()
    outcomes: dict[int, Counter] = defaultdict(Counter)
    drop_off: dict[int, Counter] = defaultdict(Counter)
    paths: dict[int, Counter] = defaultdict(Counter)
    steps: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for (kind, version, bucket, label), n in tallies.items():
        if kind == "v_sessions":
            sessions[version] += n
        elif kind == "v_outcome":
            outcomes[version][label] += n
        elif kind == "v_drop":
            drop_off[version][label] += n
        elif kind == "v_path":
            paths[version][tuple(label.split(PATH_SEPARATOR))] += n
        elif kind == "v_step":
            steps[version][label][bucket] = steps[version][label].get(bucket, 0) + n
    wanted = [pk for pk, n in sessions.items() if n]
    if not wanted:
        return []
    result = []
    for version in (
        PlaybookVersion.objects.filter(pk__in=wanted)
        .select_related("playbook")
        .only("pk", "number", "playbook__slug")
        .order_by("playbook__slug", "-number")
    ):
        pk = version.pk
        result.append(
            VersionAnalytics(
                version=version,
                sessions=sessions[pk],
                outcomes=sorted(outcomes[pk].items(), key=lambda kv: (-kv[1], kv[0])),
                drop_off=sorted(drop_off[pk].items(), key=lambda kv: (-kv[1], kv[0])),
                paths=sorted(paths[pk].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PATHS],
                step_times=[
                    (node, histogram_percentile(hist, 0.5), sum(hist.values()))
                    for node, hist in sorted(steps[pk].items())
                ],
            )
        )
    return result
