"""A supervisor reads the dashboard, narrows it to missing-prompt cases, and the figures
change in place (htmx) to answer: how many did we fix without escalation, and where do
technicians drop off in the playbook?"""

import pytest

from helpdesk.enums import Category, Channel, Outcome, RootCause
from helpdesk.roles import Role
from helpdesk.services.dashboard import dashboard_ticket_refresh
from helpdesk.services.tickets import ticket_escalate, ticket_open, ticket_resolve
from tests.conftest import make_staff
from tests.e2e.test_policy_edit import _sign_in
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory
from troubleshooting.models import GuidedSession, Playbook, PlaybookVersion, StepRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _desk():
    technician = make_staff(Role.HELPDESK, username="tess.tech")
    supervisor = make_staff(Role.SUPERVISOR, username="sue.super")
    group = GroupFactory(name="Finance")
    AdministrativeUnitFactory(name="Finance desk", groups=[group], staff=[technician, supervisor])
    caller = EndUserFactory(username="fred.finance", groups=[group])
    playbook = Playbook.objects.create(
        slug="missing-prompt", complaint="missing_prompt", title="Missing prompt"
    )
    version = PlaybookVersion.objects.create(
        playbook=playbook, number=1, content_hash="a" * 64, definition={}, source=""
    )

    def case(category, outcome=None, escalate=False):
        ticket = ticket_open(
            actor=technician, end_user=caller, subject="Call", category=category,
            channel=Channel.PHONE,
        )  # fmt: skip
        if escalate:
            ticket = ticket_escalate(
                actor=technician, ticket=ticket, reason="Tier 2", expected_version=None
            )
        if outcome:
            ticket = ticket_resolve(
                actor=technician, ticket=ticket, outcome=outcome,
                root_causes=[RootCause.PUSH_NOTIFICATIONS_DISABLED], expected_version=None,
            )  # fmt: skip
        return ticket

    case(Category.MISSING_PROMPT, Outcome.PROMPT_RESTORED)
    case(Category.MISSING_PROMPT, Outcome.PROMPT_RESTORED)
    case(Category.MISSING_PROMPT, Outcome.PROMPT_RESTORED, escalate=True)
    stalled = case(Category.MISSING_PROMPT)
    session = GuidedSession.objects.create(
        ticket=stalled, version=version, started_by=technician, status="abandoned"
    )
    for sequence, node in enumerate(["ask_app", "check_notifications"], start=1):
        StepRecord.objects.create(
            session=session, sequence=sequence, version=version, node=node, kind="question",
            branch="yes", actor=technician,
        )  # fmt: skip
    # Written past the session services, so the aggregates are brought in line here.
    dashboard_ticket_refresh(stalled.pk)
    case(Category.ENROLLMENT_FAILURE, Outcome.ENROLLED)
    case(Category.ENROLLMENT_FAILURE)
    return supervisor


def test_supervisor_filters_the_dashboard_and_the_figures_change(page):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    supervisor = _desk()
    _sign_in(page, supervisor.username)

    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    assert page.locator("#dashboard-ticket-count").inner_text() == "6"
    fixed = page.get_by_role("row", name="Prompts restored without escalation")
    assert fixed.inner_text().split("\t") == [
        "Prompts restored without escalation",
        "2",
        "3",
        "66.7 %",
    ]
    assert page.locator("svg.chart").count() >= 3

    # Narrow to missing-prompt cases: htmx swaps the results without a page load.
    page.get_by_label("Complaint").select_option(Category.MISSING_PROMPT)
    page.wait_for_url("**complaint=missing_prompt**")
    count = page.locator("#dashboard-ticket-count")
    count.filter(has_text="4").wait_for()
    assert page.locator("#dashboard-resolved-count").inner_text() == "3"
    first_contact = page.get_by_role("row", name="First-contact resolution")
    assert first_contact.inner_text().split("\t")[1:3] == ["2", "3"]

    # Where technicians stopped in the playbook.
    # The stored definition here is empty, so the step's id is put in words, never shown raw.
    drop_off = page.locator("table.drop-off").get_by_role("row", name="Check notifications")
    assert drop_off.inner_text().split("\t") == ["Check notifications", "1"]
    assert violations == []
