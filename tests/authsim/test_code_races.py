"""A single-use code redeemed by one sign-in and presented again by another (the loser of a
race, or a double submit) is refused, but it is no guess: it never counts toward the
lockout that would shut the genuine user out. Through the device page's sign-in form."""

from datetime import timedelta

import pytest
from django.urls import reverse

from authsim.models import Attempt, SimUser
from enrollment import clock
from enrollment.models import BypassCode
from enrollment.services.bypass import bypass_code_hash
from tests.authsim.factories import world

pytestmark = pytest.mark.django_db

CODE = "4815162342"


@pytest.fixture
def user_with_bypass_code():
    user = world(
        username="race.user",
        policies=[{"scope": "global", "max_invalid_attempts": 2}],
    )
    now = clock.now()
    BypassCode.objects.create(
        end_user=user,
        code_hash=bypass_code_hash(CODE),
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return user


def _sign_in(client, device, passcode):
    url = reverse("authsim:device-sign-in", kwargs={"device_id": device.pk})
    client.post(url, {"factor": "auto", "passcode": passcode, "application": "VPN"})
    return Attempt.objects.filter(end_user=device.end_user).latest("id")


def test_the_losing_redemption_is_refused_without_counting_toward_lockout(
    user_with_bypass_code, technician, client_for
):
    client = client_for(technician)
    device = user_with_bypass_code.devices.get()

    won = _sign_in(client, device, CODE)
    lost = [_sign_in(client, device, CODE) for _ in range(3)]

    assert (won.result, won.reason) == ("success", "bypass_user")
    assert {(a.result, a.reason) for a in lost} == {("denied", "invalid_passcode")}
    assert "Not counted as an invalid attempt" in lost[0].detail
    sim = SimUser.objects.get(end_user=user_with_bypass_code)
    assert sim.invalid_attempts == 0
    user_with_bypass_code.refresh_from_db()
    assert user_with_bypass_code.status != "locked_out"


def test_a_wrong_code_still_counts(user_with_bypass_code, technician, client_for):
    client = client_for(technician)
    device = user_with_bypass_code.devices.get()

    guess = _sign_in(client, device, "1111111111")

    assert (guess.result, guess.reason) == ("denied", "invalid_passcode")
    assert SimUser.objects.get(end_user=user_with_bypass_code).invalid_attempts == 1
