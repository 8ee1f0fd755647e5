"""New staff set their own password and authenticator through a one-time emailed link:
the creator never can. The token is stored hashed, works once and expires."""

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from enrollment import clock
from helpdesk.models import Staff, StaffSetupLink
from helpdesk.services.staff import staff_create
from helpdesk.tasks import send_staff_setup_link

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unguessable passphrase 42"


@pytest.fixture
def invited(administrator, mailoutbox, django_capture_on_commit_callbacks):
    """A new technician created by the administrator, their link emailed."""
    with django_capture_on_commit_callbacks(execute=True):
        created = staff_create(
            actor=administrator, username="nina", role="helpdesk", email="nina@example.com"
        )
    (mail,) = mailoutbox
    url = re.search(r"https?://\S+/setup/\S+/", mail.body).group(0)
    path = "/" + url.split("/", 3)[3]
    return {"staff": created.staff, "path": path, "token": path.split("/")[-2], "mail": mail}


def _code(staff: Staff) -> str:
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    return pyotp.TOTP(__import__("base64").b32encode(device.bin_key).decode()).now()


def _complete(client: Client, invited, **overrides):
    client.get(invited["path"])  # shows the QR code: the pending authenticator exists now
    data = {"password1": PASSWORD, "password2": PASSWORD, "code": _code(invited["staff"])}
    data.update(overrides)
    return client.post(invited["path"], data)


def test_the_link_is_emailed_and_only_its_hash_is_stored(invited):
    link = StaffSetupLink.objects.get(staff=invited["staff"])
    assert invited["mail"].to == ["nina@example.com"]
    assert link.token_hash == hashlib.sha256(invited["token"].encode()).hexdigest()
    assert invited["token"] not in str(StaffSetupLink.objects.values().get())


def test_following_the_link_sets_the_password_and_enrolls_the_authenticator(invited):
    client = Client()

    page = client.get(invited["path"])
    done = _complete(client, invited)

    assert "Set up your account, nina" in page.content.decode()
    assert "no-cache" in page["Cache-Control"]
    assert done["Location"] == reverse("helpdesk:login")
    staff = Staff.objects.get(pk=invited["staff"].pk)
    assert staff.check_password(PASSWORD)
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).count() == 1
    signed_in = Client().post(reverse("helpdesk:login"), {"username": "nina", "password": PASSWORD})
    assert signed_in["Location"] == reverse("helpdesk:login-verify")


def test_the_link_works_once(invited):
    _complete(Client(), invited)

    again = Client().get(invited["path"])

    assert again.status_code == 404
    assert "not valid any more" in again.content.decode()


def test_an_expired_link_is_refused(invited):
    clock.advance(timedelta(hours=73))

    response = Client().get(invited["path"])

    assert response.status_code == 404
    assert not Staff.objects.get(pk=invited["staff"].pk).has_usable_password()


def test_a_wrong_code_or_a_weak_password_changes_nothing(invited):
    client = Client()
    wrong = _complete(client, invited, code="000000")
    weak = _complete(client, invited, password1="password", password2="password")

    assert "That code does not match" in wrong.content.decode()
    assert weak.status_code == 200
    assert weak.context["form"].errors["password1"]
    staff = Staff.objects.get(pk=invited["staff"].pk)
    assert staff.has_usable_password() is False
    assert StaffSetupLink.objects.get(staff=staff).used_at is None


def test_an_unknown_token_is_a_clear_404():
    response = Client().get(reverse("helpdesk:staff-setup", kwargs={"token": "nope"}))

    assert response.status_code == 404
    assert "not valid any more" in response.content.decode()


def test_the_creator_cannot_sign_in_as_the_new_account(invited):
    # No password exists until the new person chooses one.
    for guess in ("", "nina", "demo-helpdesk"):
        response = Client().post(reverse("helpdesk:login"), {"username": "nina", "password": guess})
        assert response.status_code in (200, 429)
        assert "_auth_user_id" not in Client().session


def test_sending_twice_sends_one_link(invited, mailoutbox):
    link = StaffSetupLink.objects.get(staff=invited["staff"])

    assert send_staff_setup_link(link_id=link.pk) is False
    assert len(mailoutbox) == 1
