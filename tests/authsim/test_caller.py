"""The caller's side: actions refuse what cannot work and say why; the reading helpers."""

import pytest

from authsim import caller
from authsim.models import SimDevice
from tests.authsim.factories import world

pytestmark = pytest.mark.django_db


def test_every_caller_action_of_design_md_is_implemented():
    from authsim.vocab import CALLER_ACTIONS

    assert sorted(caller.ACTIONS) == sorted(CALLER_ACTIONS)


def test_unknown_action_is_refused():
    user = world()
    with pytest.raises(caller.UnknownAction):
        caller.perform("reboot_the_internet", end_user_id=user.pk)


def test_primary_device_skips_a_lost_phone():
    user = world(devices=[{"key": "old", "lost": True}, {"key": "new"}])
    phone = caller.primary_device(user)
    assert caller.device_state(phone).lost is False
    assert SimDevice.objects.filter(device__end_user=user, lost=True).count() == 1


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ({"camera_permission": False}, "The app says it has no access to the camera."),
        ({"online": False, "network": "none"}, "It spins and then says it can't reach the server."),
        ({"os_version": "15.1"}, "The app says my phone's system (15.1) is too old."),
    ],
)
def test_scan_fails_for_the_reason_on_the_device(device, message):
    user = world(
        user={"status": "pending_enrollment"},
        devices=[{"key": "phone", **device}],
        authenticators=[{"method": "push", "device": "phone", "status": "pending_activation"}],
        enrollment={"stage": "app_installed"},
    )
    result = caller.perform("scan_qr_code", end_user_id=user.pk)
    assert (result.ok, result.message) == (False, message)
    assert user.authenticators.get().status == "pending_activation"


def test_expired_enrollment_link_is_refused_and_recorded():
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[],
        enrollment={"stage": "invited", "link_expires_in_hours": -1},
    )
    result = caller.perform("open_enrollment_link", end_user_id=user.pk)
    assert (result.ok, result.message) == (False, "The page says the enrollment link has expired.")
    assert user.enrollments.get().error == "link_expired"


def test_successful_scan_activates_and_verifies_the_enrollment():
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[{"method": "push", "device": "phone", "status": "pending_activation"}],
        enrollment={"stage": "app_installed"},
    )
    assert caller.perform("scan_qr_code", end_user_id=user.pk).ok is True
    user.refresh_from_db()
    enrollment = user.enrollments.get()
    assert (user.status, enrollment.stage, enrollment.error) == ("active", "activated", None)
    assert user.devices.get().push_capable is True


def test_first_sign_in_after_activation_verifies_the_enrollment():
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[{"method": "push", "device": "phone", "status": "pending_activation"}],
        enrollment={"stage": "app_installed"},
    )
    caller.perform("scan_qr_code", end_user_id=user.pk)
    attempt = caller.sign_in_as_end_user(end_user_id=user.pk)
    assert (attempt.result, user.enrollments.get().stage) == ("success", "verified")
