"""An administrator changes the global policy in the browser; the explorer shows the new
value and where it comes from, and the end user's next simulated sign-in follows it."""

import base64

import pyotp
import pytest

from enrollment.models import Policy
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from tests.authsim.factories import world
from tests.conftest import make_staff
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _current_code() -> str:
    secret = base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY_HEX)).decode()
    return pyotp.TOTP(secret).now()


def _sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    page.get_by_label("Six-digit code").fill(_current_code())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")


def test_administrator_removes_push_and_the_next_push_sign_in_is_restricted(page):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    user = world(username="pat.push", application="VPN")
    device = user.devices.get()
    Policy.objects.create(scope="global")
    make_staff(Role.ADMINISTRATOR, username="ada")
    _sign_in(page, "ada")

    # Edit the global policy: allow only the authenticator app code and SMS.
    page.get_by_role("link", name="Policies", exact=True).click()
    page.get_by_role("link", name="Global (everyone)").click()
    page.get_by_label("Authenticator app code (TOTP)").check()
    page.get_by_label("SMS passcode").check()
    page.get_by_label("Default method").select_option("totp")
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("it applies from the next sign-in").wait_for()
    event = TicketEvent.objects.get(kind="admin.policy_changed")
    assert event.payload["changes"]["allowed_methods"] == {"old": None, "new": ["totp", "sms"]}

    # The explorer says what now applies to the end user, and which policy says so.
    page.get_by_role("link", name="Policy explorer").click()
    page.get_by_label("Find an end user").fill("pat.push")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=user.full_name).click()
    row = page.get_by_role("row", name="Allowed methods")
    row.wait_for()
    assert row.inner_text().split("\t") == [
        "Allowed methods",
        "Authenticator app code (TOTP), SMS passcode",
        "global policy",
    ]

    # On the device simulator the end user signs in with a push: the policy refuses it.
    page.goto(f"/sim/devices/{device.pk}/")
    page.get_by_label("Application").fill("VPN")
    page.get_by_label("Method").select_option("push")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Sign-in denied: factor_restricted.").wait_for()
    assert violations == []
