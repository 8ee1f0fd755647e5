"""seed_privacyidea fills a privacyIDEA with broken end users and imports them; the demo
phone shows their codes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from enrollment.enums import AuthenticatorStatus, UserStatus
from enrollment.models import EndUser
from tests.privacyidea import server as pi

pytestmark = [pytest.mark.privacyidea, pytest.mark.django_db]


def test_seed_privacyidea_creates_broken_users_and_imports_them(privacyidea, settings, tmp_path):
    settings.PRIVACYIDEA_REALMS = ["demo"]
    out = io.StringIO()

    call_command(
        "seed_privacyidea",
        url=privacyidea.url,
        admin=pi.SETUP_ADMIN,
        admin_password=pi.SETUP_PASSWORD,
        realm="demo",
        service_account=pi.SERVICE_ACCOUNT,
        users_file=str(tmp_path / "users.passwd"),
        seeds_file=str(tmp_path / "phones.json"),
        stdout=out,
    )
    phone = io.StringIO()
    call_command(
        "privacyidea_phone", "pi.locked", seeds_file=str(tmp_path / "phones.json"), stdout=phone
    )

    users = {u.username: u for u in EndUser.objects.filter(service_id__endswith="@demo")}
    assert sorted(users) == ["pi.disabled", "pi.drift", "pi.locked", "pi.lost", "pi.new"]
    assert users["pi.locked"].status == UserStatus.LOCKED_OUT
    assert users["pi.new"].status == UserStatus.PENDING_ENROLLMENT
    assert users["pi.drift"].status == UserStatus.ACTIVE
    assert [a.status for a in users["pi.disabled"].authenticators.all()] == [
        AuthenticatorStatus.DISABLED
    ]
    assert users["pi.lost"].devices.get().name == "Work phone"
    assert "5 end user(s) added" in out.getvalue()
    code = phone.getvalue().split()[0]
    assert len(code) == 6
    assert code.isdigit()
