"""The device simulator in real Chromium: a push appears live through htmx polling and is
approved with a click, all under the Content-Security-Policy."""

import base64

import pyotp
import pytest

from enrollment.mfa import get_mfa_service
from helpdesk.roles import Role
from tests.authsim.factories import world
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page) -> None:  # noqa: F811 - the fixture, passed in
    make_staff(Role.HELPDESK, username="tom")
    page.goto("/login/")
    page.get_by_label("Username").fill("tom")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    secret = base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY_HEX)).decode()
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")


def test_push_shows_up_live_and_is_approved(page):  # noqa: F811
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    user = world(username="live.push")
    device = user.devices.get()
    _sign_in(page)
    page.get_by_role("link", name="Device simulator").click()
    page.get_by_role("link", name=device.name).click()
    assert page.get_by_text("No sign-in request on the screen.").is_visible()

    attempt = get_mfa_service().sign_in(end_user_id=user.pk, application="VPN")

    page.get_by_text("Are you signing in?").wait_for()  # arrives by polling, no reload
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("I tapped Approve.").wait_for()
    final = get_mfa_service().attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("success", "user_approved")
    assert violations == []
