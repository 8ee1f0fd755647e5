"""The enrollment checks of troubleshooting/checks/enrollment_extra.py against the simulated
MFA service behind the port, and the caller actions and answers the enrollment fixes rely
on."""

import pytest

from authsim import caller
from authsim.models import Delivery
from enrollment.mfa import get_mfa_service
from enrollment.models import EnrollmentLink
from tests.authsim.helpers import act, load
from troubleshooting.checks import CheckContext, run_check

pytestmark = pytest.mark.django_db


def _invitation(user):
    return run_check("invitation_delivery", CheckContext.build(user, mfa=get_mfa_service()))


def test_an_invitation_filed_as_spam_is_reported_filtered():
    _, user = load("activation-email-not-received")

    result = _invitation(user)

    assert (result.outcome, result.facts["invitation_delivery_status"]) == (
        "filtered",
        "filtered",
    )
    assert "spam" in result.evidence["emails"][0]["detail"]


def test_a_delivered_invitation_is_reported_delivered():
    _, user = load("enrollment-incomplete")

    assert _invitation(user).outcome == "delivered"


def test_a_bounced_invitation_is_reported_failed():
    _, user = load("enrollment-incomplete")
    Delivery.objects.filter(end_user=user, channel="email").update(status="failed")

    assert _invitation(user).outcome == "failed"


def test_an_invitation_never_sent_is_reported_not_sent():
    _, user = load("enrollment-incomplete")
    Delivery.objects.filter(end_user=user).delete()

    result = _invitation(user)

    assert result.outcome == "not_sent"
    assert (
        result.facts["invitation_sent_count"]
        == EnrollmentLink.objects.get(end_user=user).sent_count
    )


def test_updating_the_phone_system_clears_the_incompatibility():
    _, user = load("device-incompatible")
    phone = user.devices.get()

    act("update_os", user)

    phone.refresh_from_db()
    assert phone.os_version == caller.LATEST_OS_VERSIONS["android"]
    assert (
        run_check("device_compatibility", CheckContext.build(user, mfa=get_mfa_service())).outcome
        == "compatible"
    )
    again = caller.perform("update_os", end_user_id=user.pk)
    assert again.ok is False  # already the newest


def test_the_caller_tells_the_serial_on_the_token_and_their_own_mobile():
    _, token_user = load("invalid-token-serial")
    _, sms_user = load("otp-channel-unavailable")

    assert caller.caller_tells(token_user, "token_serial") == "HT-204518"
    assert caller.caller_tells(sms_user, "mobile_number") == "+14155550147"
    with pytest.raises(caller.UnknownAction):
        caller.caller_tells(sms_user, "password")
