"""Directory corrections behind the recovery guards: a hardware token's mistyped serial and a
missing mobile number of record. Real services, real MFA service (authsim)."""

import pytest

from authsim import caller
from authsim.models import SimDevice
from enrollment.mfa import get_mfa_service
from enrollment.models import Authenticator, EndUser
from enrollment.services import RecoveryRefused, contact_number_add, token_serial_correct
from tests.enrollment.recovery_helpers import (  # noqa: F401
    desk_fixture,
    guard_map,
    privileged_desk_fixture,
    verify_caller,
)
from tests.factories import AuthenticatorFactory, DeviceFactory

pytestmark = pytest.mark.django_db

REASON = "Caller read the serial off the token"


def _mistyped_token(desk):
    token = DeviceFactory(end_user=desk.end_user, name="Key fob", platform="hardware_token")
    SimDevice.objects.create(device=token, serial="HT-204518")
    hotp = AuthenticatorFactory(
        end_user=desk.end_user,
        device=token,
        method="hotp_token",
        status="pending_activation",
        serial="HT-205418",
    )
    return token, hotp


def test_a_corrected_serial_assigns_the_token_and_its_codes_are_accepted(desk):
    token, hotp = _mistyped_token(desk)
    verify_caller(desk)

    token_serial_correct(
        actor=desk.technician,
        ticket=desk.ticket,
        reason=REASON,
        authenticator_id=hotp.pk,
        serial=" ht-204518 ",
    )

    hotp.refresh_from_db()
    assert (hotp.serial, hotp.status) == ("HT-204518", "active")
    payload = desk.last_event().payload
    assert (payload["action"], payload["outcome"]) == ("token_serial_correct", "done")
    assert payload["target"]["previous_serial"] == "HT-205418"
    attempt = get_mfa_service().sign_in(
        end_user_id=desk.end_user.pk, factor="hotp_token", passcode=caller.current_code(token)
    )
    assert (attempt.result, attempt.reason) == ("success", "valid_passcode")


def test_a_serial_correction_needs_a_verified_caller(desk):
    _, hotp = _mistyped_token(desk)

    with pytest.raises(RecoveryRefused) as refused:
        token_serial_correct(
            actor=desk.technician,
            ticket=desk.ticket,
            reason=REASON,
            authenticator_id=hotp.pk,
            serial="HT-204518",
        )

    assert refused.value.guard == "identity_verified"
    assert Authenticator.objects.get(pk=hotp.pk).serial == "HT-205418"
    assert guard_map(desk.last_event().payload)["identity_verified"] is False


@pytest.mark.parametrize(
    ("serial", "guard"),
    [("HT-205418", "token_serial_changed"), ("#?", "token_serial"), ("", "token_serial")],
)
def test_a_serial_correction_refuses_the_same_or_a_malformed_serial(desk, serial, guard):
    _, hotp = _mistyped_token(desk)
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        token_serial_correct(
            actor=desk.technician,
            ticket=desk.ticket,
            reason=REASON,
            authenticator_id=hotp.pk,
            serial=serial,
        )

    assert refused.value.guard == guard


def test_a_serial_of_another_live_token_is_refused(desk):
    _, hotp = _mistyped_token(desk)
    AuthenticatorFactory(method="hotp_token", status="active", serial="HT-204518")
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        token_serial_correct(
            actor=desk.technician,
            ticket=desk.ticket,
            reason=REASON,
            authenticator_id=hotp.pk,
            serial="HT-204518",
        )

    assert refused.value.guard == "token_serial_unique"


def test_only_hardware_tokens_have_their_serial_corrected(desk):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        token_serial_correct(
            actor=desk.technician,
            ticket=desk.ticket,
            reason=REASON,
            authenticator_id=desk.push.pk,
            serial="HT-1",
        )

    assert refused.value.guard == "authenticator_is_hardware_token"


def _without_mobile(desk):
    verify_caller(desk)  # the callback went to the mobile before it was found missing
    EndUser.objects.filter(pk=desk.end_user.pk).update(mobile="")


def test_a_missing_mobile_is_added_in_international_form_and_masked_in_the_trail(desk):
    _without_mobile(desk)

    contact_number_add(
        actor=desk.technician,
        ticket=desk.ticket,
        reason="Caller gave the number of the phone they carry",
        attribute="mobile",
        number="+1 (415) 555-0147",
    )

    assert EndUser.objects.get(pk=desk.end_user.pk).mobile == "+14155550147"
    payload = desk.last_event().payload
    assert (payload["action"], payload["outcome"]) == ("contact_number_add", "done")
    assert payload["target"] == {"attribute": "mobile", "number": "…47"}
    assert "5550147" not in str(payload)


def test_an_existing_number_is_never_overwritten(desk):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        contact_number_add(
            actor=desk.technician,
            ticket=desk.ticket,
            reason="Caller says the number changed",
            attribute="mobile",
            number="+14155550147",
        )

    assert refused.value.guard == "contact_attribute_missing"
    assert EndUser.objects.get(pk=desk.end_user.pk).mobile == "+14155550101"


@pytest.mark.parametrize(
    ("attribute", "number", "guard"),
    [
        ("mobile", "4155550147", "contact_number_format"),
        ("mobile", "", "contact_number_format"),
        ("email", "+14155550147", "contact_attribute"),
    ],
)
def test_a_bad_number_or_attribute_is_refused(desk, attribute, number, guard):
    _without_mobile(desk)

    with pytest.raises(RecoveryRefused) as refused:
        contact_number_add(
            actor=desk.technician,
            ticket=desk.ticket,
            reason="Caller gave a number",
            attribute=attribute,
            number=number,
        )

    assert refused.value.guard == guard
    assert EndUser.objects.get(pk=desk.end_user.pk).mobile == ""


def test_adding_a_number_needs_a_verified_caller(desk):
    EndUser.objects.filter(pk=desk.end_user.pk).update(mobile="")

    with pytest.raises(RecoveryRefused) as refused:
        contact_number_add(
            actor=desk.technician,
            ticket=desk.ticket,
            reason="Caller gave a number",
            attribute="mobile",
            number="+14155550147",
        )

    assert refused.value.guard == "identity_verified"


def test_a_privileged_user_needs_a_second_approver(privileged_desk):
    _without_mobile(privileged_desk)

    with pytest.raises(RecoveryRefused) as refused:
        contact_number_add(
            actor=privileged_desk.technician,
            ticket=privileged_desk.ticket,
            reason="Caller gave a number",
            attribute="mobile",
            number="+14155550147",
        )

    assert refused.value.guard == "second_approver"
