"""Accessibility and CSP in real Chromium: axe-core (vendored from npm as a test asset,
tests/e2e/assets/axe.min.js, MPL-2.0) on every main page, failing on any violation, console
error or Content-Security-Policy violation; one journey by keyboard alone; one at 390x844.

axe is injected through Playwright's evaluate (the DevTools protocol), not a <script> tag,
so the pages keep their real Content-Security-Policy while they are checked."""

import base64
import time
from pathlib import Path

import pyotp
import pytest
from django.urls import reverse

from enrollment.models import Policy
from helpdesk.enums import Category, Channel
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.authsim.helpers import load
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX
from troubleshooting.services import playbook_sync_from_files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text()
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(
    v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`
  );
}"""


def _watch(page) -> list[str]:  # noqa: F811 - the fixture, passed in
    """Console errors, uncaught exceptions and CSP violations, as they happen."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def _wait_for_focus(page, element_id: str, seconds: float = 10.0) -> None:  # noqa: F811
    """Polls from Python: wait_for_function evaluates its predicate with eval, which the
    page's Content-Security-Policy rightly forbids."""
    deadline = time.monotonic() + seconds
    while page.evaluate("() => document.activeElement.id") != element_id:
        assert time.monotonic() < deadline, f"focus never reached #{element_id}"
        page.wait_for_timeout(100)


def _axe(page) -> list[str]:  # noqa: F811
    page.evaluate(AXE)
    return page.evaluate(RUN_AXE)


def _sign_in(page, username: str) -> None:  # noqa: F811
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    page.get_by_label("Six-digit code").fill(_totp())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")


def _totp() -> str:
    return pyotp.TOTP(base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY_HEX)).decode()).now()


@pytest.fixture
def case(db):
    playbook_sync_from_files()
    _, user = load("push-notifications-disabled")
    owner = make_staff(Role.OWNER, username="olivia")
    ticket = ticket_open(
        actor=owner,
        end_user=user,
        subject="Phone shows no approval request",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    return {"user": user, "ticket": ticket, "owner": owner}


def _start_session(page, ticket) -> None:  # noqa: F811
    page.goto(f"/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Start guided session").click()
    page.get_by_role("heading", name="Trigger a new sign-in").wait_for()


def test_every_main_page_has_no_axe_violation_console_error_or_csp_violation(page, case):  # noqa: F811
    problems = _watch(page)
    _sign_in(page, "olivia")
    _start_session(page, case["ticket"])
    policy = Policy.objects.filter(scope="global").first() or Policy.objects.create(scope="global")
    pages = {
        "ticket with an active wizard": f"/tickets/{case['ticket'].pk}/",
        "queue": reverse("helpdesk:ticket-queue"),
        "end users": reverse("enrollment:end-user-list"),
        "end user": reverse("enrollment:end-user-detail", kwargs={"pk": case["user"].pk}),
        "device simulator": reverse("authsim:device-list"),
        "policy edit": reverse("enrollment:policy-edit", kwargs={"pk": policy.pk}),
        "policy explorer": reverse("enrollment:policy-explain") + f"?end_user={case['user'].pk}",
        "playbook graph": reverse(
            "troubleshooting:playbook-version", kwargs={"slug": "missing_prompt", "number": 1}
        ),
        "dashboard": reverse("helpdesk:dashboard"),
        "audit review": reverse("helpdesk:audit-review"),
        "approvals": reverse("enrollment:approval-queue"),
    }
    found = {}
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        violations = _axe(page)
        if violations:
            found[name] = violations
    assert found == {}
    assert problems == []


def test_a_case_worked_by_keyboard_alone(page, case):  # noqa: F811
    problems = _watch(page)
    _sign_in(page, "olivia")
    _start_session(page, case["ticket"])
    page.goto(f"/tickets/{case['ticket'].pk}/")
    page.get_by_role("heading", name="Trigger a new sign-in").wait_for()

    # The card takes the focus when it appears: its controls are the next Tab stops (the
    # knowledge-base link, the code field, then the button).
    _wait_for_focus(page, "guide-card-title")
    stops = []
    for _ in range(3):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate("document.activeElement.textContent.trim() || document.activeElement.id")
        )
    assert stops == ["Troubleshooting login failures", "id_guide_passcode", "Start a sign-in"]
    page.keyboard.press("Enter")
    # The wait puts the focus on what the caller can report.
    _wait_for_focus(page, "guide-report-nothing")
    page.keyboard.press("Enter")  # The caller saw nothing
    page.get_by_role("heading", name="Notifications allowed?").wait_for()
    _wait_for_focus(page, "guide-card-title")
    assert problems == []


def test_the_ticket_page_fits_a_390_px_screen(browser, live_server, case):  # noqa: F811
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()  # noqa: F811
    page.set_default_timeout(10_000)
    problems = _watch(page)
    try:
        _sign_in(page, "olivia")
        _start_session(page, case["ticket"])
        width = page.evaluate("document.documentElement.scrollWidth")
        start = page.get_by_role("button", name="Start a sign-in").bounding_box()
        assert width <= 390
        assert start["x"] >= 0
        assert start["x"] + start["width"] <= 390
        assert _axe(page) == []
        assert problems == []
    finally:
        context.close()
