"""The dashboard's aggregates (helpdesk.dashboard_tallies, helpdesk.services.dashboard) against
the direct computation over the same rows."""

import random
from datetime import timedelta

from django.core.management import call_command

from enrollment import clock
from helpdesk.dashboard import (
    DashboardQuery,
    dashboard_metrics,
    dashboard_metrics_direct,
    dashboard_version_analytics,
    dashboard_version_analytics_direct,
    percentile,
)
from helpdesk.dashboard_tallies import (
    LAST_DAY,
    MAX_LEVEL,
    bucket_of,
    bucket_value,
    day_blocks,
    day_number,
    histogram_percentile,
)
from helpdesk.enums import Category, Channel, Outcome, RootCause, TicketStatus, Tier
from helpdesk.models import DashboardTally, DashboardTicketFacts
from helpdesk.roles import Role
from helpdesk.services.dashboard import dashboard_rebuild, dashboard_ticket_refresh
from helpdesk.services.tickets import (
    ticket_change_status,
    ticket_escalate,
    ticket_open,
    ticket_resolve,
)
from tests.conftest import analyze_tables, make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from troubleshooting.models import GuidedSession, Playbook, PlaybookVersion, StepRecord

# --- Blocks of days and buckets ------------------------------------------------------------------


def test_a_range_of_days_is_at_most_two_blocks_per_level_covering_it_exactly():
    rng = random.Random(3)
    ranges = [(0, LAST_DAY), (20000, 20000), (20000, 20001), (19999, 20000)]
    ranges += [tuple(sorted(rng.sample(range(19000, 23000), 2))) for _ in range(300)]
    for first, last in ranges:
        blocks = day_blocks(first, last)
        days = []
        for level, low, high in blocks:
            for block in range(low, high + 1):
                days.extend(range(block << level, (block + 1) << level))
        assert sorted(days) == list(range(first, last + 1))
        per_level = [level for level, _, _ in blocks]
        assert all(per_level.count(level) <= 2 for level in range(MAX_LEVEL)), f"{first}..{last}"
        assert len(blocks) <= 2 * MAX_LEVEL + 1


def test_a_percentile_from_buckets_is_within_one_bucket_of_the_exact_one():
    rng = random.Random(5)
    for _ in range(300):
        values = [
            timedelta(seconds=rng.choice([0.2, 1, 59]) * rng.lognormvariate(5, 3))
            for _ in range(rng.randint(1, 40))
        ]
        histogram: dict[int, int] = {}
        for value in values:
            histogram[bucket_of(value)] = histogram.get(bucket_of(value), 0) + 1
        for fraction in (0.5, 0.9):
            exact, read = percentile(values, fraction), histogram_percentile(histogram, fraction)
            assert abs(bucket_of(read) - bucket_of(exact)) <= 1, (values, fraction)
    assert histogram_percentile({}, 0.5) is None
    assert all(bucket_of(bucket_value(b)) == b for b in range(1, 200))


# --- A random world ------------------------------------------------------------------------------

NODES = ["ask_app", "check_push", "check_app_version", "restore", "verify", "escalate"]


def _versions() -> list[PlaybookVersion]:
    made = []
    for slug, numbers in (("missing-prompt", (1, 2)), ("enrollment-failure", (1,))):
        playbook = Playbook.objects.create(slug=slug, complaint=slug.replace("-", "_"), title=slug)
        for number in numbers:
            made.append(
                PlaybookVersion.objects.create(
                    playbook=playbook,
                    number=number,
                    content_hash=f"{slug}{number}".ljust(64, "0"),
                    definition={},
                    source="",
                )
            )
            if number < max(numbers):  # one current version per playbook
                made[-1].retired_at = clock.now()
                made[-1].save(update_fields=["retired_at"])
    return made


def _session(rng, ticket, on, tech, status):
    started = clock.now() - timedelta(minutes=rng.randint(0, 600))
    session = GuidedSession.objects.create(
        ticket=ticket,
        version=on,
        started_by=tech,
        started_at=started,
        status=status,
        outcome=rng.choice([Outcome.PROMPT_RESTORED, Outcome.ENROLLED, ""])
        if status == "ended"
        else "",
        ended_at=None if status == "active" else started,
    )
    at = started
    for sequence in range(1, rng.randint(0, 7) + 1):
        at += timedelta(seconds=rng.choice([5, 40, 90, 300, 1800]) * rng.random())
        StepRecord.objects.create(
            session=session,
            sequence=sequence,
            version=on,
            node=rng.choice(NODES[:3]) if sequence < 3 else rng.choice(NODES),
            kind="question",
            branch="yes",
            actor=tech,
            at=at,
            superseded_at=clock.now() if rng.random() < 0.15 else None,
        )
    dashboard_ticket_refresh(ticket.pk)


def _random_world(rng, tech):
    groups = [GroupFactory(name=f"Group {i}") for i in range(4)]
    units = [
        AdministrativeUnitFactory(name="Unit A", groups=groups[:2]),
        AdministrativeUnitFactory(name="Unit B", groups=groups[1:3]),
        AdministrativeUnitFactory(name="Unit C", groups=groups[3:]),
    ]
    memberships = [[], [0], [1], [2], [3], [0, 1], [1, 3], [0, 2, 3]]
    users = [
        EndUserFactory(username=f"user{i}", groups=[groups[g] for g in memberships[i % 8]])
        for i in range(12)
    ]
    versions = _versions()
    categories = [Category.MISSING_PROMPT, Category.ENROLLMENT_FAILURE, Category.LOCKED_OUT]
    outcomes = [Outcome.PROMPT_RESTORED, Outcome.ENROLLED, Outcome.RE_ENROLLED,
                Outcome.BYPASS_ISSUED]  # fmt: skip
    causes = [RootCause.APP_OUTDATED, RootCause.PUSH_TOKEN_STALE, RootCause.CLOCK_SKEW]
    for _ in range(70):
        clock.advance(timedelta(hours=rng.choice([0, 1, 7, 30, 80])))
        ticket = ticket_open(
            actor=tech,
            end_user=rng.choice(users),
            subject="Case",
            category=rng.choice(categories),
            channel=Channel.PHONE,
        )
        if rng.random() < 0.4:
            for status in rng.sample(["ended", "abandoned", "active"], rng.randint(1, 2)):
                _session(rng, ticket, rng.choice(versions), tech, status)
        if rng.random() < 0.3:
            ticket = ticket_change_status(
                actor=tech, ticket=ticket, status=TicketStatus.WAITING_ON_USER,
                expected_version=None,
            )  # fmt: skip
        if rng.random() < 0.25:
            ticket = ticket_escalate(
                actor=tech, ticket=ticket, reason="Tier 2", expected_version=None,
                to_tier=rng.choice([Tier.L2, Tier.SECURITY]),
            )  # fmt: skip
        if rng.random() < 0.75:
            clock.advance(timedelta(minutes=rng.choice([1, 30, 200, 3000])))
            ticket = ticket_resolve(
                actor=tech, ticket=ticket, outcome=rng.choice(outcomes),
                root_causes=rng.sample(causes, rng.randint(0, 2)), expected_version=None,
            )  # fmt: skip
            if rng.random() < 0.2:
                ticket = ticket_change_status(
                    actor=tech, ticket=ticket, status=TicketStatus.IN_PROGRESS,
                    expected_version=None,
                )  # fmt: skip
                if rng.random() < 0.5:
                    ticket_resolve(
                        actor=tech, ticket=ticket, outcome=rng.choice(outcomes),
                        root_causes=[], expected_version=None,
                    )  # fmt: skip
    return units, versions


def _within_a_bucket(read, exact) -> bool:
    if read is None or exact is None:
        return read is exact
    return abs(bucket_of(read) - bucket_of(exact)) <= 1


def _assert_same(staff, query):
    read, exact = dashboard_metrics(staff, query), dashboard_metrics_direct(staff, query)
    assert (read.tickets, read.resolved) == (exact.tickets, exact.resolved), query
    assert [(s.label, s.numerator, s.denominator) for s in read.shares] == [
        (s.label, s.numerator, s.denominator) for s in exact.shares
    ], query
    assert read.escalations == exact.escalations, query
    assert read.root_causes == exact.root_causes, query
    assert _within_a_bucket(read.time_to_resolve_p50, exact.time_to_resolve_p50), query
    assert _within_a_bucket(read.time_to_resolve_p90, exact.time_to_resolve_p90), query

    read_v = dashboard_version_analytics(staff, query)
    exact_v = dashboard_version_analytics_direct(staff, query)
    assert [v.label for v in read_v] == [v.label for v in exact_v], query
    for mine, theirs in zip(read_v, exact_v, strict=True):
        assert mine.sessions == theirs.sessions, query
        assert mine.outcomes == theirs.outcomes, query
        assert mine.drop_off == theirs.drop_off, query
        assert mine.paths == theirs.paths, query
        assert [(n, c) for n, _, c in mine.step_times] == [
            (n, c) for n, _, c in theirs.step_times
        ], query
        for (_, spent, _), (_, exact_spent, _) in zip(
            mine.step_times, theirs.step_times, strict=True
        ):
            assert _within_a_bucket(spent, exact_spent), query
    return exact.tickets


def _tally_rows() -> dict:
    return {
        tuple(key): n
        for *key, n in DashboardTally.objects.values_list(
            "level",
            "block",
            "category",
            "groupset__members",
            "versions",
            "kind",
            "version",
            "bucket",
            "label",
            "n",
        )
        if n
    }


def test_every_figure_from_the_aggregates_equals_the_direct_computation(db):
    rng = random.Random(17)
    owner = make_staff(Role.OWNER, username="owner")
    tech = make_staff(Role.HELPDESK, username="tech")
    start = clock.now().date()
    units, versions = _random_world(rng, tech)
    analyze_tables()
    end = clock.now().date()
    supervisor = make_staff(Role.SUPERVISOR, username="super")
    units[0].staff.add(supervisor)
    units[2].staff.add(supervisor)
    span = (end - start).days

    queries = [DashboardQuery(), DashboardQuery(date_from=start, date_to=end)]
    for _ in range(40):
        first = start + timedelta(days=rng.randint(0, span))
        last = first + timedelta(days=rng.randint(0, span))
        queries.append(
            DashboardQuery(
                date_from=first if rng.random() < 0.9 else None,
                date_to=last if rng.random() < 0.9 else None,
                unit=rng.choice([None, None, *[u.pk for u in units]]),
                complaint=rng.choice(["", "", Category.MISSING_PROMPT, Category.LOCKED_OUT]),
                version=rng.choice([None, None, None, *[v.pk for v in versions]]),
            )
        )
    counted = [_assert_same(viewer, q) for q in queries for viewer in (owner, supervisor)]
    assert counted[0] == 70  # the owner's whole range: every ticket
    assert sum(1 for n in counted if n) > 40  # most queries have tickets to compare

    # The rebuild sums the same tallies from scratch.
    maintained = _tally_rows()
    assert dashboard_rebuild(batch=7) == 70
    assert _tally_rows() == maintained
    assert DashboardTicketFacts.objects.count() == 70


def test_a_refresh_with_nothing_changed_writes_nothing(db, django_assert_num_queries):
    tech = make_staff(Role.HELPDESK, username="tech")
    ticket = ticket_open(
        actor=tech, end_user=EndUserFactory(), subject="Case", category=Category.LOCKED_OUT,
        channel=Channel.PHONE,
    )  # fmt: skip
    before = _tally_rows()
    # Ticket, groups, events, sessions, the stored facts (and the savepoint pair).
    with django_assert_num_queries(7):
        dashboard_ticket_refresh(ticket.pk)
    assert _tally_rows() == before
    key = (0, day_number(ticket.opened_at), Category.LOCKED_OUT, ",", ",", "tickets", 0, 0, "")
    assert before[key] == 1
    # The same count at every level, in the block holding that day.
    assert sum(n for k, n in before.items() if k[5] == "tickets") == MAX_LEVEL + 1


def test_a_session_event_on_the_trail_updates_the_per_version_figures(db):
    """The sessions package writes every change through session_event_record, which brings
    the aggregates along in the same transaction."""
    from troubleshooting.sessions import session_event_record

    tech = make_staff(Role.HELPDESK, username="tech")
    owner = make_staff(Role.OWNER, username="owner")
    ticket = ticket_open(
        actor=tech, end_user=EndUserFactory(), subject="Case",
        category=Category.MISSING_PROMPT, channel=Channel.PHONE,
    )  # fmt: skip
    on = _versions()[0]
    session = GuidedSession.objects.create(ticket=ticket, version=on, started_by=tech)
    assert dashboard_version_analytics(owner, DashboardQuery()) == []
    session_event_record(session, tech, "started")
    (analytics,) = dashboard_version_analytics(owner, DashboardQuery())
    assert (analytics.sessions, analytics.outcomes) == (1, [("active", 1)])


def test_the_rebuild_command_reports_what_it_read(db, capsys):
    tech = make_staff(Role.HELPDESK, username="tech")
    for _ in range(3):
        ticket_open(
            actor=tech, end_user=EndUserFactory(), subject="Case",
            category=Category.LOCKED_OUT, channel=Channel.PHONE,
        )  # fmt: skip
    maintained = _tally_rows()
    DashboardTally.objects.all().delete()
    call_command("rebuild_dashboard")
    assert "Dashboard aggregates rebuilt from 3 tickets" in capsys.readouterr().out
    assert _tally_rows() == maintained
