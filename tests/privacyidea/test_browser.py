"""A technician works privacyIDEA cases in real Chromium: the wizard's checks, the identity
callback, the unlock or the resynchronisation and the verifying sign-in all go to a real
privacyIDEA server behind the port. The test is the caller on the phone: it holds the
authenticator app (pyotp, from the seed it enrolled) and reads its codes out."""

from __future__ import annotations

import time

import pytest

from enrollment.enums import UserStatus
from enrollment.models import EndUser
from enrollment.services.directory_sync import directory_sync
from helpdesk.enums import Channel
from helpdesk.models import Ticket
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.e2e.test_missing_prompt import _sign_in
from troubleshooting.models import GuidedSession
from troubleshooting.services import playbook_sync_from_files

pytestmark = [pytest.mark.privacyidea, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _ticket(username: str, category: str, subject: str) -> Ticket:
    playbook_sync_from_files()
    directory_sync()
    end_user = EndUser.objects.get(service_id=f"{username}@corp")
    technician = make_staff(Role.HELPDESK, username="pia.tech")
    return ticket_open(
        actor=technician,
        end_user=end_user,
        subject=subject,
        category=category,
        channel=Channel.PHONE,
    )


def _start(page, ticket: Ticket) -> None:  # noqa: F811 - the fixture, passed in
    _sign_in(page, "pia.tech")
    page.goto(f"/guide/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Start guided session").click()


def _ended_with(page, ticket: Ticket, outcome: str) -> GuidedSession:  # noqa: F811
    page.get_by_text("Session ended").wait_for(timeout=20_000)
    assert page.locator("#guide-card").get_attribute("data-outcome") == outcome
    return GuidedSession.objects.get(ticket=ticket)


def test_a_locked_out_user_is_verified_unlocked_and_signs_in(privacyidea, page):  # noqa: F811
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    privacyidea.call("POST", "/token/set", serial=serial, max_failcount="3")
    for _ in range(3):
        privacyidea.check(username, "000000")
    ticket = _ticket(username, "locked_out", "Locked out after wrong codes")
    _start(page, ticket)

    # The checks ran against privacyIDEA: the account is locked, so the caller is verified
    # first, by a callback to the mobile number privacyIDEA's directory holds.
    page.get_by_role("heading", name="Verify the caller").wait_for(timeout=20_000)
    assert ticket.end_user.mobile in page.get_by_label("Number you called").inner_text()
    page.get_by_label("The person who answered confirmed the request").check()
    page.get_by_role("button", name="Record the callback").click()

    page.get_by_role("heading", name="Unlock the account").wait_for()
    page.get_by_role("button", name="Unlock the account").click()
    page.get_by_role("heading", name="Sign in again").wait_for(timeout=20_000)
    assert privacyidea.token(serial)["failcount"] == 0

    # The caller reads out the code their app shows now.
    page.get_by_label("Code the caller reads out").fill(totp.now())
    page.get_by_role("button", name="Start a sign-in").click()

    session = _ended_with(page, ticket, "code_accepted")
    assert session.state["verified_sign_in"] is True
    ticket.refresh_from_db()
    ticket.end_user.refresh_from_db()
    assert (ticket.status, ticket.end_user.status) == ("resolved", UserStatus.ACTIVE)
    assert "Root causes: Account locked after failed attempts" in (
        page.locator("#guide-card").inner_text()
    )


def test_a_clock_running_late_is_resynced_and_the_next_code_accepted(privacyidea, page):  # noqa: F811
    username = privacyidea.take_user()
    _, totp = privacyidea.enrol_totp(username)
    ticket = _ticket(username, "code_rejected", "Codes from the app are refused")
    late = 30 * 10  # the phone's clock runs five minutes late

    def code(steps: int = 0) -> str:
        return totp.at(time.time() - late + 30 * steps)

    _start(page, ticket)
    page.get_by_role("heading", name="Trigger a new sign-in").wait_for(timeout=20_000)
    page.get_by_label("Code the caller reads out").fill(code())
    page.get_by_role("button", name="Start a sign-in").click()

    # privacyIDEA turned the code down and its log says it was the app's code: the phone's
    # clock. This phone's clock is set by hand and cannot be corrected, so the wizard
    # resynchronises the app with two consecutive codes the caller reads out.
    page.get_by_role("heading", name="Set the phone's time automatically").wait_for(timeout=20_000)
    page.get_by_role("button", name="Could not do it").click()
    page.get_by_role("heading", name="Resynchronise the app").wait_for(timeout=20_000)
    page.get_by_label("First code").fill(code(-1))
    page.get_by_label("The next code").fill(code())
    page.get_by_role("button", name="Resync the code generator").click()

    page.get_by_role("heading", name="Sign in with the app after resynchronising").wait_for(
        timeout=20_000
    )
    # privacyIDEA counts the step after the second code as used by the resynchronisation:
    # the caller reads the code after the next one.
    page.get_by_label("Code the caller reads out").fill(code(2))
    page.get_by_role("button", name="Start a sign-in").click()

    session = _ended_with(page, ticket, "code_accepted")
    assert session.root_causes == ["clock_skew"]
    assert session.state["verified_sign_in"] is True
