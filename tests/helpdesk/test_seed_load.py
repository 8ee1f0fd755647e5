from django.core.management import call_command

from helpdesk.models import Ticket, TicketEvent
from helpdesk.selectors import QueueQuery, ticket_list_visible_to
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.tickets import ticket_comment
from tests.conftest import analyze_tables


def test_seed_load_builds_chains_that_verify_and_services_continue(db):
    call_command("seed_load", tickets=40, events_per_ticket=6, open_percent=50, end_users=5)

    assert Ticket.objects.count() == 40
    assert TicketEvent.objects.count() == 240
    report = audit_chain_verify()
    assert (report.ok, report.events_checked, report.streams_checked) == (True, 240, 40)
    # The seeded technician sees the seeded tickets, and the services append to their chains.
    tech = Ticket.objects.first().opened_by
    page = ticket_list_visible_to(tech, QueueQuery(queue="all"), page_size=5)
    assert len(page.rows) == 5
    ticket_comment(actor=tech, ticket=page.rows[0], body="After the load.")
    assert audit_chain_verify().ok is True


def test_seed_load_writes_guided_sessions_and_builds_the_dashboard(db):
    from django.db.models import Count

    from helpdesk.dashboard import (
        DashboardQuery,
        dashboard_metrics,
        dashboard_metrics_direct,
        dashboard_version_analytics,
        dashboard_version_analytics_direct,
    )
    from helpdesk.models import DashboardTicketFacts, Staff
    from troubleshooting.models import GuidedSession, StepRecord

    call_command("seed_load", tickets=150, events_per_ticket=8, end_users=20, session_percent=40)

    sessions = GuidedSession.objects.count()
    assert 30 <= sessions <= 90  # 40 % of 150, give or take
    steps = StepRecord.objects.values("session").annotate(n=Count("pk")).values_list("n", flat=True)
    assert len(steps) == sessions
    assert max(steps) <= 12
    assert sum(1 for n in steps if n >= 6) > sessions * 0.9  # shorter only when a walk ends
    # Several versions of one playbook, and every kind of ending.
    per_playbook = GuidedSession.objects.values("version__playbook").annotate(
        versions=Count("version", distinct=True)
    )
    assert max(row["versions"] for row in per_playbook) == 2
    assert {"ended", "abandoned"} <= set(GuidedSession.objects.values_list("status", flat=True))
    assert TicketEvent.objects.count() == 150 * 8  # the trail keeps its size
    assert audit_chain_verify().ok is True

    # The aggregates are built, and agree with the rows.
    assert DashboardTicketFacts.objects.count() == 150
    supervisor = Staff.objects.get(username="bench-super")
    analyze_tables()
    query = DashboardQuery()
    read, exact = dashboard_metrics(supervisor, query), dashboard_metrics_direct(supervisor, query)
    assert (read.tickets, read.resolved, read.root_causes) == (
        150,
        exact.resolved,
        exact.root_causes,
    )
    assert [(s.numerator, s.denominator) for s in read.shares] == [
        (s.numerator, s.denominator) for s in exact.shares
    ]
    mine = dashboard_version_analytics(supervisor, query)
    theirs = dashboard_version_analytics_direct(supervisor, query)
    assert [(v.label, v.sessions, v.outcomes, v.drop_off, v.paths) for v in mine] == [
        (v.label, v.sessions, v.outcomes, v.drop_off, v.paths) for v in theirs
    ]
