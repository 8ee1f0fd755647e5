"""A missing-prompt case worked end to end in real Chromium: the technician starts the
guided session, the first sign-in goes unanswered (notifications are off), the caller turns
notifications on and approves the next push on the device simulator page, open in a second
page of the same browser, and the session ends with the prompt restored."""

import base64
from datetime import timedelta

import pyotp
import pytest

from enrollment import clock
from helpdesk.enums import Category, Channel
from helpdesk.models import Ticket
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.authsim.helpers import load
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX
from troubleshooting.models import GuidedSession
from troubleshooting.services import playbook_sync_from_files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, username: str) -> None:  # noqa: F811 - the fixture, passed in
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    secret = base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY_HEX)).decode()
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")


def test_missing_prompt_is_worked_to_prompt_restored(page):  # noqa: F811
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    playbook_sync_from_files()
    _, user = load("push-notifications-disabled")
    technician = make_staff(Role.HELPDESK, username="tina")
    ticket = ticket_open(
        actor=technician,
        end_user=user,
        subject="Phone shows no approval request",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    phone = user.devices.get()
    _sign_in(page, "tina")

    page.goto(f"/tickets/{ticket.pk}/")
    page.goto(f"/guide/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Start guided session").click()
    page.get_by_role("heading", name="Trigger a new sign-in").wait_for()
    assert page.get_by_text("What the checks found").is_visible()

    # The first sign-in: the push never shows (notifications are off) and times out.
    page.get_by_role("button", name="Start a sign-in").click()
    page.get_by_text("Waiting").first.wait_for()
    clock.advance(timedelta(minutes=10))
    page.get_by_role("heading", name="Notifications allowed?").wait_for(timeout=15_000)

    page.get_by_label("No, they are off").check()
    page.get_by_role("button", name="Record the answer").click()
    page.get_by_role("heading", name="Allow notifications").wait_for()

    # The caller, on their phone (a second page of the same browser).
    device = page.context.new_page()
    device.set_default_timeout(10_000)
    device.goto(f"/sim/devices/{phone.pk}/")
    device.get_by_role("button", name="Turn on notifications").click()
    device.get_by_text("Notifications for the app are on now.").wait_for()

    page.get_by_role("button", name="Done").click()
    page.get_by_role("heading", name="Try the prompt again").wait_for()
    page.get_by_role("button", name="Start a sign-in").click()

    device.get_by_text("Are you signing in?").wait_for(timeout=15_000)
    device.get_by_role("button", name="Approve").click()

    page.get_by_text("Session ended").wait_for(timeout=15_000)
    assert page.locator("#guide-card").get_attribute("data-outcome") == "prompt_restored"
    session = GuidedSession.objects.get(ticket=ticket)
    assert (session.outcome, session.root_causes) == (
        "prompt_restored",
        ["push_notifications_disabled"],
    )
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    assert violations == []
