import time

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.middleware import SIGNED_IN_AT
from helpdesk.roles import Role
from tests.conftest import make_staff, sign_in
from tests.factories import STAFF_PASSWORD, STAFF_TOTP_KEY_HEX, StaffFactory

LOGIN = reverse("helpdesk:login")
VERIFY = reverse("helpdesk:login-verify")
ENROLL = reverse("helpdesk:login-enroll")
HOME = reverse("helpdesk:home")


def _code(hex_key: str = STAFF_TOTP_KEY_HEX) -> str:
    import base64

    return pyotp.TOTP(base64.b32encode(bytes.fromhex(hex_key)).decode()).now()


def _password_step(client: Client, username: str, password: str = STAFF_PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def test_login_with_enrolled_device_asks_for_code_then_lands_home(db):
    staff = make_staff(Role.HELPDESK, username="tess")
    client = Client()

    response = _password_step(client, "tess")
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    # Signed in with a password only: everything else redirects to the code step.
    assert client.get(HOME)["Location"] == VERIFY

    response = client.post(VERIFY, {"token": _code()})
    assert response.status_code == 302
    assert response["Location"] == HOME
    page = client.get(HOME)
    assert page.status_code == 200
    assert "Helpdesk technician (L1)" in page.content.decode()
    assert staff.pk == int(client.session["_auth_user_id"])


def test_wrong_code_rerenders_with_message(db):
    make_staff(Role.HELPDESK, username="tess")
    client = Client()
    _password_step(client, "tess")
    wrong = "000000" if _code() != "000000" else "111111"

    response = client.post(VERIFY, {"token": wrong})

    assert response.status_code == 200
    assert "That code is not valid" in response.content.decode()
    assert client.get(HOME)["Location"] == VERIFY


def test_code_must_be_six_digits(db):
    make_staff(Role.HELPDESK, username="tess")
    client = Client()
    _password_step(client, "tess")

    response = client.post(VERIFY, {"token": "12ab56"})

    assert "Enter the six digits your authenticator app shows." in response.content.decode()


def test_first_sign_in_enrolls_a_totp_device(db):
    staff = StaffFactory(username="newbie", role=Role.SUPERVISOR)
    client = Client()

    response = _password_step(client, "newbie")
    assert response["Location"] == ENROLL
    page = client.get(ENROLL)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'src="data:image/svg+xml' in body
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False
    # Reloading keeps the same pending device, so an earlier scan still works.
    client.get(ENROLL)
    assert TOTPDevice.objects.filter(user=staff).count() == 1

    response = client.post(ENROLL, {"token": _code(device.key)})

    assert response.status_code == 302
    assert response["Location"] == HOME
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(HOME).status_code == 200


def test_enrollment_rejects_a_wrong_code_and_keeps_the_device_pending(db):
    staff = StaffFactory(username="newbie", role=Role.SUPERVISOR)
    client = Client()
    _password_step(client, "newbie")
    client.get(ENROLL)
    device = TOTPDevice.objects.get(user=staff)
    wrong = "000000" if _code(device.key) != "000000" else "111111"

    response = client.post(ENROLL, {"token": wrong})

    assert response.status_code == 200
    assert "That code does not match" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False


def test_wrong_password_gives_a_clear_message(db):
    make_staff(Role.HELPDESK, username="tess")

    response = _password_step(Client(), "tess", "not the password")

    assert response.status_code == 200
    assert "do not match an active staff account" in response.content.decode()


def test_inactive_staff_cannot_sign_in(db):
    make_staff(Role.HELPDESK, username="gone", is_active=False)

    response = _password_step(Client(), "gone")

    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session


def test_repeated_failures_lock_the_login_with_a_clear_message(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_staff(Role.HELPDESK, username="tess")
    client = Client()
    for _ in range(2):
        assert _password_step(client, "tess", "wrong").status_code == 200

    locked = _password_step(client, "tess", "wrong")
    # Even the right password is refused while the lock lasts.
    still_locked = _password_step(client, "tess")

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert still_locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_login_refuses_an_offsite_next(db):
    make_staff(Role.HELPDESK, username="tess")
    client = Client()
    client.post(
        LOGIN, {"username": "tess", "password": STAFF_PASSWORD, "next": "https://evil.example/"}
    )

    response = client.post(VERIFY, {"token": _code()})

    assert response["Location"] == HOME


def test_login_follows_a_local_next(db):
    make_staff(Role.ADMINISTRATOR, username="ada")
    client = Client()
    client.post(LOGIN, {"username": "ada", "password": STAFF_PASSWORD, "next": "/admin/"})

    response = client.post(VERIFY, {"token": _code()})

    assert response["Location"] == "/admin/"


def test_demo_mode_skips_the_code_and_shows_a_banner(db, settings):
    settings.STAFF_MFA_REQUIRED = False
    make_staff(Role.HELPDESK, username="tess")
    client = Client()

    login_page = client.get(LOGIN)
    response = _password_step(client, "tess")

    assert "Demo mode" in login_page.content.decode()
    assert "You will be asked for a code" not in login_page.content.decode()
    assert response["Location"] == HOME
    assert client.get(HOME).status_code == 200


def test_login_page_announces_the_code_step_when_mfa_is_on(db):
    body = Client().get(LOGIN).content.decode()

    assert "You will be asked for a code from your authenticator app." in body
    assert "Demo mode" not in body


def test_mfa_is_required_by_default():
    from django.conf import settings

    assert settings.STAFF_MFA_REQUIRED is True


def test_session_ends_after_the_absolute_lifetime(db, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 60
    client = sign_in(Client(), make_staff(Role.HELPDESK))
    assert client.get(HOME).status_code == 200
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 61
    session.save()

    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?expired=1"
    assert "_auth_user_id" not in client.session
    assert "maximum length" in client.get(response["Location"]).content.decode()


def test_htmx_request_after_expiry_gets_a_client_redirect(db, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 60
    client = sign_in(Client(), make_staff(Role.HELPDESK))
    client.get(HOME)
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 61
    session.save()

    response = client.get(HOME, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN}?expired=1"


def test_idle_timeout_is_the_cookie_age_renewed_on_each_request():
    from django.conf import settings

    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_logout_requires_post(db):
    client = sign_in(Client(), make_staff(Role.HELPDESK))

    assert client.get(reverse("helpdesk:logout")).status_code == 405
    assert client.post(reverse("helpdesk:logout"))["Location"] == LOGIN
    assert client.get(HOME)["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    ("role", "expected_fragment"),
    [
        (Role.HELPDESK, "open tickets and work them"),
        (Role.SUPERVISOR, "approve sensitive actions"),
        (Role.READ_ONLY, "you change nothing"),
        (Role.ADMINISTRATOR, "configure policies"),
    ],
)
def test_home_page_speaks_to_the_role(db, role, expected_fragment):
    client = sign_in(Client(), make_staff(role))

    body = client.get(HOME).content.decode()

    assert expected_fragment in body


def test_home_navigation_shows_admin_only_to_admins(db):
    admin_page = sign_in(Client(), make_staff(Role.ADMINISTRATOR)).get(HOME).content.decode()
    tech_page = sign_in(Client(), make_staff(Role.HELPDESK)).get(HOME).content.decode()

    assert 'href="/admin/"' in admin_page
    assert 'href="/admin/"' not in tech_page
