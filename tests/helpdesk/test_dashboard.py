import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from enrollment import clock
from helpdesk.dashboard import (
    DashboardQuery,
    dashboard_metrics,
    dashboard_unit_choices,
    dashboard_version_analytics,
    percentile,
)
from helpdesk.dashboard_tallies import bucket_of
from helpdesk.enums import Category, Channel, Outcome, RootCause, TicketStatus
from helpdesk.roles import Role
from helpdesk.scoping import scoped_group_ids
from helpdesk.services.dashboard import dashboard_ticket_refresh
from helpdesk.services.tickets import (
    ticket_change_status,
    ticket_escalate,
    ticket_open,
    ticket_resolve,
)
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from troubleshooting.models import GuidedSession, Playbook, PlaybookVersion, StepRecord
from troubleshooting.publishing import playbook_publish_from_disk

DASHBOARD = reverse("helpdesk:dashboard")
EXPORT = reverse("helpdesk:dashboard-export")


# --- Builders ----------------------------------------------------------------------------------


def version(slug: str = "missing-prompt", number: int = 1) -> PlaybookVersion:
    playbook, _ = Playbook.objects.get_or_create(
        slug=slug, defaults={"complaint": "missing_prompt", "title": slug}
    )
    return PlaybookVersion.objects.create(
        playbook=playbook, number=number, content_hash=str(number) * 64, definition={}, source=""
    )


def case(tech, end_user, category=Category.MISSING_PROMPT, *, escalate=False, wait=False,
         outcome=None, causes=(), minutes=30):  # fmt: skip
    ticket = ticket_open(
        actor=tech, end_user=end_user, subject="Case", category=category, channel=Channel.PHONE
    )
    if wait:
        ticket = ticket_change_status(
            actor=tech, ticket=ticket, status=TicketStatus.WAITING_ON_USER, expected_version=None
        )
    if escalate:
        ticket = ticket_escalate(
            actor=tech, ticket=ticket, reason="Needs tier 2", expected_version=None
        )
    if outcome:
        clock.advance(timedelta(minutes=minutes))
        ticket = ticket_resolve(
            actor=tech,
            ticket=ticket,
            outcome=outcome,
            root_causes=list(causes),
            expected_version=None,
        )
    return ticket


def walk(ticket, on, tech, nodes, *, status="abandoned", outcome="", minutes=(2,)):
    """A guided session on `ticket` that answered `nodes` in order, `minutes[i]` apart."""
    started = clock.now()
    session = GuidedSession.objects.create(
        ticket=ticket,
        version=on,
        started_by=tech,
        started_at=started,
        status=status,
        outcome=outcome,
        ended_at=None if status == "active" else started,
    )
    at = started
    for index, node in enumerate(nodes):
        at += timedelta(minutes=minutes[index % len(minutes)])
        StepRecord.objects.create(
            session=session,
            sequence=index + 1,
            version=on,
            node=node,
            kind="question",
            branch="yes",
            actor=tech,
            at=at,
        )
    # Rows written by hand: what the sessions package does after each of its changes.
    dashboard_ticket_refresh(ticket.pk)
    return session


@pytest.fixture
def team(supervisor, technician):
    group = GroupFactory(name="Sales")
    AdministrativeUnitFactory(name="Sales desk", groups=[group], staff=[supervisor, technician])
    return {"group": group, "caller": EndUserFactory(username="sam.sales", groups=[group])}


@pytest.fixture
def last_week(team, technician):
    """Last week: three missing-prompt cases fixed (one after an escalation), one still open,
    one enrollment failure; sessions on the missing-prompt playbook, three of which stopped
    before the end. Then a week passes and one more prompt is fixed."""
    caller = team["caller"]
    v1 = version()
    start = clock.now().date()
    fixed = case(technician, caller, outcome=Outcome.PROMPT_RESTORED,
                 causes=[RootCause.PUSH_NOTIFICATIONS_DISABLED])  # fmt: skip
    walk(fixed, v1, technician, ["ask_app", "check_push", "restore"], status="ended",
         outcome=Outcome.PROMPT_RESTORED)  # fmt: skip
    case(technician, caller, outcome=Outcome.PROMPT_RESTORED,
         causes=[RootCause.PUSH_TOKEN_STALE, RootCause.APP_OUTDATED])  # fmt: skip
    escalated = case(technician, caller, escalate=True, outcome=Outcome.PROMPT_RESTORED,
                     causes=[RootCause.APP_OUTDATED])  # fmt: skip
    walk(escalated, v1, technician, ["ask_app", "check_app_version"])
    still_open = case(technician, caller)
    walk(still_open, v1, technician, ["ask_app", "check_app_version"], minutes=(4, 6))
    walk(still_open, v1, technician, ["ask_app"], status="active")
    case(technician, caller, Category.ENROLLMENT_FAILURE, outcome=Outcome.ENROLLED)
    end = clock.now().date()
    clock.advance(timedelta(days=7))
    case(technician, caller, outcome=Outcome.PROMPT_RESTORED)
    return {"from": start, "to": end, "version": v1}


# --- The supervisor's question -------------------------------------------------------------------


def test_a_supervisor_reads_last_weeks_prompt_fixes_and_the_drop_off(
    client_for, supervisor, last_week
):
    """ "How many missing-prompt cases did we fix without escalation last week, and where do
    technicians drop off in the playbook?" — from the page alone."""
    response = client_for(supervisor).get(
        DASHBOARD,
        {
            "date_from": last_week["from"].isoformat(),
            "date_to": last_week["to"].isoformat(),
            "complaint": Category.MISSING_PROMPT,
        },
    )
    assert response.status_code == 200
    shares = {s.label: s for s in response.context["metrics"].shares}
    restored = shares["Prompts restored without escalation"]
    assert (restored.numerator, restored.denominator) == (2, 3)
    (analytics,) = [v["analytics"] for v in response.context["versions"]]
    assert analytics.drop_off == [("check_app_version", 2), ("ask_app", 1)]
    html = response.content.decode()
    assert "Prompts restored without escalation</th><td>2</td><td>3</td><td>66.7 %" in html
    # A stored definition that no longer parses: its step ids as words, never the ids.
    assert '<th scope="row">Check app version</th><td>2</td>' in html
    assert "check_app_version" not in html
    assert "push_notifications_disabled" not in html
    assert '<th scope="row">Notifications turned off on the phone</th>' in html
    assert '<svg class="chart"' in html
    assert "style=" not in html


def test_the_other_metrics(supervisor, technician, team):
    caller = team["caller"]
    case(technician, caller, Category.ENROLLMENT_FAILURE, outcome=Outcome.ENROLLED, minutes=60)
    twice = case(technician, caller, Category.ENROLLMENT_FAILURE, outcome=Outcome.RE_ENROLLED,
                 minutes=120)  # fmt: skip
    on = version("enrollment-failure")
    walk(twice, on, technician, ["a"], status="ended")
    walk(twice, on, technician, ["a", "b"], status="ended", outcome=Outcome.RE_ENROLLED)
    case(technician, caller, Category.LOCKED_OUT, wait=True, outcome=Outcome.BYPASS_ISSUED,
         minutes=180)  # fmt: skip
    reopened = case(technician, caller, Category.CODE_REJECTED, outcome=Outcome.CODE_ACCEPTED,
                    minutes=240)  # fmt: skip
    reopened = ticket_change_status(
        actor=technician, ticket=reopened, status=TicketStatus.IN_PROGRESS, expected_version=None
    )
    clock.advance(timedelta(minutes=60))
    ticket_resolve(actor=technician, ticket=reopened, outcome=Outcome.CODE_ACCEPTED,
                   root_causes=[RootCause.CLOCK_SKEW], expected_version=None)  # fmt: skip
    case(technician, caller, Category.LOST_DEVICE, escalate=True)

    metrics = dashboard_metrics(supervisor, DashboardQuery())

    shares = {s.label: (s.numerator, s.denominator) for s in metrics.shares}
    assert shares["Enrollments completed in the same session"] == (1, 2)
    assert shares["First-contact resolution"] == (2, 4)
    assert shares["Bypass rate"] == (1, 4)
    assert shares["Re-enrollment rate"] == (1, 4)
    assert (metrics.tickets, metrics.resolved) == (5, 4)
    assert metrics.escalations == [("Tier 2, by a technician", 1)]
    assert metrics.root_causes == [(RootCause.CLOCK_SKEW, 1)]
    # Resolution times 1 h, 2 h, 3 h and (opened, reopened, resolved) 5 h; the aggregates
    # read them from histogram buckets, within one bucket.
    assert within_a_bucket(metrics.time_to_resolve_p50, timedelta(hours=2, minutes=30))
    assert within_a_bucket(metrics.time_to_resolve_p90, timedelta(hours=4, minutes=24))


def within_a_bucket(value: timedelta, exact: timedelta) -> bool:
    return abs(bucket_of(value) - bucket_of(exact)) <= 1


def test_percentile_interpolates_like_percentile_cont():
    hours = [timedelta(hours=h) for h in (5, 1, 3, 2, 4)]
    assert percentile(hours, 0.5) == timedelta(hours=3)
    assert percentile(hours, 0.9) == timedelta(hours=4, minutes=36)
    assert percentile([], 0.5) is None


def test_per_version_paths_outcomes_and_step_times(supervisor, last_week):
    (analytics,) = dashboard_version_analytics(supervisor, DashboardQuery())
    assert analytics.sessions == 4
    assert dict(analytics.outcomes) == {"prompt_restored": 1, "abandoned": 2, "active": 1}
    assert analytics.paths[0] == (("ask_app", "check_app_version"), 2)
    times = {node: (spent, n) for node, spent, n in analytics.step_times}
    # ask_app: 2, 2, 4 and 2 minutes; check_app_version: 2 and 6 minutes.
    assert times["ask_app"][1] == 4
    assert within_a_bucket(times["ask_app"][0], timedelta(minutes=2))
    assert times["check_app_version"][1] == 2
    assert within_a_bucket(times["check_app_version"][0], timedelta(minutes=4))


def test_steps_and_versions_read_as_their_titles(client_for, supervisor, technician, team):
    (result,) = playbook_publish_from_disk(
        actor=make_staff(Role.ADMINISTRATOR, "publisher"),
        paths=[settings.BASE_DIR / "troubleshooting/playbooks/enrollment_failure.yaml"],
    )
    shipped = PlaybookVersion.objects.get(playbook__slug=result.playbook, number=result.version)
    ticket = case(technician, team["caller"], Category.ENROLLMENT_FAILURE)
    walk(ticket, shipped, technician, ["ask_app"])

    html = client_for(supervisor).get(DASHBOARD).content.decode()

    assert f"{shipped.playbook.title} v{shipped.number}" in html
    assert '<th scope="row">App installed?</th><td>1</td>' in html
    assert "ask_app" not in html


def test_superseded_steps_are_not_the_last_step(supervisor, technician, team):
    ticket = case(technician, team["caller"])
    session = walk(ticket, version(), technician, ["ask_app", "check_push"])
    session.steps.filter(node="check_push").update(superseded_at=clock.now())
    dashboard_ticket_refresh(ticket.pk)
    (analytics,) = dashboard_version_analytics(supervisor, DashboardQuery())
    assert analytics.drop_off == [("ask_app", 1)]


def test_filters_by_team_and_version(supervisor, technician, team):
    other = GroupFactory(name="Support")
    AdministrativeUnitFactory(name="Support desk", groups=[other], staff=[supervisor, technician])
    elsewhere = EndUserFactory(username="sue.support", groups=[other])
    on = version()
    walk(case(technician, team["caller"]), on, technician, ["ask_app"])
    case(technician, elsewhere)
    sales = team["group"].administrative_units.get()

    assert dashboard_metrics(supervisor, DashboardQuery()).tickets == 2
    assert dashboard_metrics(supervisor, DashboardQuery(unit=sales.pk)).tickets == 1
    assert dashboard_metrics(supervisor, DashboardQuery(version=on.pk)).tickets == 1


def test_cases_outside_the_viewers_units_are_not_counted(supervisor, owner, technician, team):
    case(technician, team["caller"], outcome=Outcome.PROMPT_RESTORED)
    far = EndUserFactory(username="far.away", groups=[GroupFactory(name="Far")])
    walk(case(owner, far, outcome=Outcome.PROMPT_RESTORED), version(), owner, ["hidden_node"])

    assert dashboard_metrics(supervisor, DashboardQuery()).tickets == 1
    assert dashboard_version_analytics(supervisor, DashboardQuery()) == []
    assert dashboard_metrics(owner, DashboardQuery()).tickets == 2
    # The team filter offers the supervisor's own units only.
    assert [u.name for u in dashboard_unit_choices(supervisor)] == ["Sales desk"]


def _queries() -> int:
    # Metrics: the group sets, the tallies. Per version: the group sets, the tallies, the
    # versions. (The viewer's groups are cached on the staff member.)
    return 2 + 3


def test_query_count_does_not_grow_with_the_data(
    supervisor, technician, team, django_assert_num_queries
):
    on = version()
    scoped_group_ids(supervisor)  # the unit lookup, cached on the staff member
    for size in (1, 6):
        for _ in range(size):
            ticket = case(
                technician,
                team["caller"],
                escalate=True,
                outcome=Outcome.PROMPT_RESTORED,
                causes=[RootCause.APP_OUTDATED],
            )
            walk(ticket, on, technician, ["ask_app", "check_push"])
        with django_assert_num_queries(_queries()):
            dashboard_metrics(supervisor, DashboardQuery())
            dashboard_version_analytics(supervisor, DashboardQuery())


# --- The page and the export ---------------------------------------------------------------------


def test_a_first_visit_covers_the_last_thirty_days(client_for, supervisor, technician, team):
    case(technician, team["caller"], outcome=Outcome.PROMPT_RESTORED)
    clock.advance(timedelta(days=31))
    response = client_for(supervisor).get(DASHBOARD)
    assert response.context["metrics"].tickets == 0
    assert response.context["form"]["date_to"].value() == clock.now().date().isoformat()


def test_htmx_gets_the_results_fragment(client_for, supervisor, last_week):
    response = client_for(supervisor).get(
        DASHBOARD, {"complaint": Category.ENROLLMENT_FAILURE}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="dashboard-results"')
    assert "<h1>" not in html


def test_a_reversed_range_re_renders_with_a_message(client_for, supervisor):
    response = client_for(supervisor).get(
        DASHBOARD, {"date_from": "2026-03-10", "date_to": "2026-03-01"}
    )
    assert response.status_code == 200
    assert "The end of the range comes before its start." in response.content.decode()
    # The valid filter still applies.
    assert response.context["form"].to_query().date_from.isoformat() == "2026-03-10"


def test_the_csv_has_the_same_figures_and_filters(client_for, supervisor, last_week):
    response = client_for(supervisor).get(
        EXPORT,
        {
            "date_from": last_week["from"].isoformat(),
            "date_to": last_week["to"].isoformat(),
            "complaint": Category.MISSING_PROMPT,
        },
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "playbook_version", "item", "value", "of"]
    assert ["share", "", "Prompts restored without escalation", "2", "3"] in rows
    assert ["version_drop_off", "missing-prompt v1", "check_app_version", "2", ""] in rows
    assert ["filter", "", "complaint", "missing_prompt", ""] in rows


def test_technicians_and_auditors_have_no_dashboard(client_for, technician):
    auditor = make_staff(Role.READ_ONLY, username="auditor")
    for staff in (technician, auditor):
        assert client_for(staff).get(DASHBOARD).status_code == 403


def test_the_demo_world_fills_the_dashboard(client_for, db):
    from django.core.management import call_command

    from helpdesk.models import Staff

    call_command("seed_demo", "--users", "3")
    response = client_for(Staff.objects.get(username="supervisor")).get(DASHBOARD)
    metrics = response.context["metrics"]
    assert (metrics.tickets, metrics.resolved) == (12, 9)
    labels = [v["analytics"].label for v in response.context["versions"]]
    assert labels == ["enrollment_failure v1", "missing_prompt v1"]
    assert all(v["analytics"].drop_off for v in response.context["versions"])


def test_the_demo_sessions_leave_a_trail_like_real_ones(db):
    """Every step of a demo session is on its ticket's trail (they are worked through the
    session services), after the opening and before the ticket's own later changes, and
    the chains verify."""
    from django.core.management import call_command

    from helpdesk.enums import EventKind
    from helpdesk.services.audit import audit_chain_verify
    from troubleshooting.models import GuidedSession

    call_command("seed_demo", "--users", "3")
    sessions = list(GuidedSession.objects.select_related("ticket").prefetch_related("steps"))
    assert sessions
    for session in sessions:
        kinds = list(session.ticket.events.order_by("seq").values_list("kind", "payload"))
        trail = [p["event"] for kind, p in kinds if kind == EventKind.SESSION_STEP]
        assert trail == [
            "started",
            *["step"] * session.steps.count(),
            "ended" if session.status == "ended" else "abandoned",
        ]
        # Opened first, the session started next; the technician's own status changes
        # after an abandoned session come after it, as the work happened.
        assert kinds[0][0] == EventKind.OPENED
        assert kinds[1][0] == EventKind.SESSION_STEP
        assert kinds[1][1]["event"] == "started"
        last = max(i for i, (kind, _) in enumerate(kinds) if kind == EventKind.SESSION_STEP)
        if session.status == "abandoned":
            assert EventKind.RESOLVED not in {kind for kind, _ in kinds[:last]}
    assert audit_chain_verify().ok
