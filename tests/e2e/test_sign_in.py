import base64

import pyotp
import pytest

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _current_code() -> str:
    secret = base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY_HEX)).decode()
    return pyotp.TOTP(secret).now()


def test_technician_signs_in_with_totp_sees_home_and_signs_out(page):
    make_staff(Role.HELPDESK, username="tess", first_name="Tess")
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto("/")
    assert page.url.endswith("/login/?next=/")
    page.get_by_label("Username").fill("tess")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/login/verify/")
    page.get_by_label("Six-digit code").fill(_current_code())
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Welcome, Tess").is_visible()
    assert page.get_by_text("Helpdesk technician (L1)").first.is_visible()
    # htmx is served by the app and ran under the CSP.
    assert page.evaluate("typeof window.htmx") == "object"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto("/")
    assert "/login/" in page.url
    assert csp_violations == []


def test_wrong_code_is_refused_in_the_browser(page):
    make_staff(Role.SUPERVISOR, username="sofia")

    page.goto("/login/")
    page.get_by_label("Username").fill("sofia")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/verify/")
    wrong = "000000" if _current_code() != "000000" else "111111"
    page.get_by_label("Six-digit code").fill(wrong)
    page.get_by_role("button", name="Verify").click()

    # Beside the field, and as a link to it in the error summary at the top.
    assert page.locator(".field-error").get_by_text("That code is not valid").is_visible()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.get_by_role("link", name="Six-digit code: That code is not valid").is_visible()
    assert page.url.endswith("/login/verify/")
