"""PrivacyIDEAService against a real privacyIDEA 3.14: every port operation the helpdesk
uses, the mapping of its answers, policy refusals and outages."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from enrollment import mfa
from enrollment.enums import AuthenticatorStatus, UserStatus
from enrollment.models import Authenticator, EndUser
from enrollment.services.directory_sync import end_user_sync
from tests.privacyidea import server as pi

pytestmark = [pytest.mark.privacyidea, pytest.mark.django_db]


def _imported(service, username: str) -> EndUser:
    """The end user as the directory imports them from privacyIDEA."""
    end_user = EndUser.objects.create(
        username=username, service_id=f"{username}@{pi.REALM}", status=UserStatus.ACTIVE
    )
    end_user_sync(end_user=end_user, service=service)
    end_user.refresh_from_db()
    return end_user


def _code(totp, steps: int = 0) -> str:
    return totp.at(time.time() + 30 * steps)


def test_sign_in_accepts_the_current_code_and_maps_a_wrong_one(privacyidea, service):
    username = privacyidea.take_user()
    _, totp = privacyidea.enrol_totp(username)
    end_user = _imported(service, username)

    wrong = service.sign_in(end_user_id=end_user.pk, factor="totp", passcode="000000")
    right = service.sign_in(end_user_id=end_user.pk, factor="totp", passcode=_code(totp))

    assert (wrong.status, wrong.result, wrong.reason, wrong.detail) == (
        "final",
        "denied",
        "invalid_passcode",
        "wrong otp value",
    )
    assert (right.result, right.reason, right.factor) == ("success", "valid_passcode", "totp")
    assert service.attempt(attempt_id=right.id) == right


def test_sign_in_without_a_code_says_what_privacyidea_needs(privacyidea, service):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    end_user = _imported(service, username)

    attempt = service.sign_in(end_user_id=end_user.pk)

    assert (attempt.result, attempt.reason) == ("error", "factor_restricted")
    assert "code" in attempt.detail


def test_auth_log_comes_from_privacyideas_audit_newest_first(privacyidea, service):
    username = privacyidea.take_user()
    _, totp = privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    service.sign_in(end_user_id=end_user.pk, passcode="123456")
    service.sign_in(end_user_id=end_user.pk, passcode=_code(totp))

    log = service.auth_log(end_user_id=end_user.pk, limit=10)

    assert [(e.result, e.reason, e.detail) for e in log] == [
        ("success", "valid_passcode", "matching 1 tokens"),
        ("denied", "invalid_passcode", "wrong otp value"),
    ]
    assert log[0].factor == "totp"


def test_auth_log_keeps_an_unmapped_message_verbatim():
    assert mfa_map(False, "Something privacyIDEA 3.15 might say") == (
        "denied",
        "Something privacyIDEA 3.15 might say",
    )
    assert mfa_map(False, "Failcounter exceeded") == ("denied", "locked_out")
    # No reason of ours says "this token is disabled": privacyIDEA's words are the reason.
    assert mfa_map(False, "Token is disabled") == ("denied", "Token is disabled")
    assert mfa_map(True, "matching 1 tokens", "registration") == ("success", "bypass_user")


def mfa_map(accepted, message, token_type=""):
    from enrollment.privacyidea.service import map_message

    return map_message(accepted, message, token_type)


def test_lockout_is_imported_and_unlock_resets_the_fail_counter(privacyidea, service):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    privacyidea.call("POST", "/token/set", serial=serial, max_failcount="3")
    for _ in range(3):
        privacyidea.check(username, "000000")
    end_user = _imported(service, username)
    locked = service.sign_in(end_user_id=end_user.pk, passcode=_code(totp))

    assert end_user.status == UserStatus.LOCKED_OUT
    assert (locked.result, locked.reason) == ("denied", "locked_out")

    service.unlock_user(end_user_id=end_user.pk)

    assert privacyidea.token(serial)["failcount"] == 0
    assert service.sign_in(end_user_id=end_user.pk, passcode=_code(totp, 1)).succeeded


def test_resync_from_two_consecutive_codes_of_a_late_clock(privacyidea, service):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    authenticator = Authenticator.objects.get(serial=serial)
    late = time.time() - 30 * 10  # the phone's clock runs ten steps (five minutes) late

    rejected = service.sign_in(end_user_id=end_user.pk, passcode=totp.at(late))
    result = service.resync_token(
        authenticator_id=authenticator.pk,
        first_code=totp.at(late - 30),
        second_code=totp.at(late),
    )
    # privacyIDEA marks the step after the second code as used too: the next code shown.
    accepted = service.sign_in(end_user_id=end_user.pk, passcode=totp.at(late + 60))

    assert (rejected.result, rejected.reason) == ("denied", "invalid_passcode")
    assert (result.ok, result.offset_steps) == (True, None)
    assert accepted.succeeded


def test_resync_with_codes_that_do_not_follow_each_other_fails(privacyidea, service):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username)
    _imported(service, username)
    authenticator = Authenticator.objects.get(serial=serial)

    result = service.resync_token(
        authenticator_id=authenticator.pk, first_code="123456", second_code="654321"
    )

    assert (result.ok, result.reason) == (False, "no_match")


def test_disable_and_enable_a_token(privacyidea, service):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    authenticator = Authenticator.objects.get(serial=serial)

    service.disable_authenticator(authenticator_id=authenticator.pk)
    refused = service.sign_in(end_user_id=end_user.pk, passcode=_code(totp))
    end_user_sync(end_user=end_user, service=service)
    authenticator.refresh_from_db()
    service.enable_authenticator(authenticator_id=authenticator.pk)

    assert (refused.result, refused.reason) == ("denied", "Token is disabled")
    assert authenticator.status == AuthenticatorStatus.DISABLED
    assert service.sign_in(end_user_id=end_user.pk, passcode=_code(totp, 1)).succeeded


def test_reset_deletes_the_token_at_privacyidea(privacyidea, service):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    authenticator = Authenticator.objects.get(serial=serial)

    service.reset_authenticator(authenticator_id=authenticator.pk)
    end_user_sync(end_user=end_user, service=service)
    authenticator.refresh_from_db()
    end_user.refresh_from_db()

    assert privacyidea.token(serial) == {}
    assert authenticator.status == AuthenticatorStatus.REVOKED
    assert end_user.status == UserStatus.PENDING_ENROLLMENT


def test_a_temporary_code_is_minted_by_privacyidea_and_accepted_once(privacyidea, service):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    end_user = _imported(service, username)

    code = service.issue_bypass_code(
        end_user_id=end_user.pk, expires_at=service.now() + timedelta(minutes=60)
    )
    first = service.sign_in(end_user_id=end_user.pk, passcode=code)
    second = service.sign_in(end_user_id=end_user.pk, passcode=code)

    assert code.isdigit()
    assert len(code) == 10
    assert (first.result, first.reason, first.factor) == ("success", "bypass_user", "backup_codes")
    assert second.result == "denied"


def test_an_expired_temporary_code_is_refused(privacyidea, service):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    end_user = _imported(service, username)

    code = service.issue_bypass_code(
        end_user_id=end_user.pk, expires_at=service.now() - timedelta(minutes=5)
    )

    assert service.sign_in(end_user_id=end_user.pk, passcode=code).result == "denied"


def test_a_refusal_by_privacyideas_policy_is_a_clear_service_refused(privacyidea, service):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    privacyidea.helpdesk_policy("tokenlist, userlist, auditlog")
    try:
        with pytest.raises(mfa.ServiceRefused) as refused:
            service.unlock_user(end_user_id=end_user.pk)
    finally:
        privacyidea.helpdesk_policy_restore()

    assert str(refused.value).startswith(
        "Unlock at privacyIDEA: privacyIDEA's policy does not allow the helpdesk's service "
        "account to do this"
    )


def test_an_unknown_user_is_unknown_object(privacyidea, service):
    end_user = EndUser.objects.create(username="nobody-here", service_id=f"nobody-here@{pi.REALM}")

    with pytest.raises(mfa.UnknownObject):
        service.sign_in(end_user_id=end_user.pk, passcode="123456")


def test_a_stopped_server_is_service_unavailable_naming_the_operation(privacyidea, service):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    end_user = _imported(service, username)
    privacyidea.stop()

    with pytest.raises(mfa.ServiceUnavailable) as down:
        service.unlock_user(end_user_id=end_user.pk)

    assert (
        str(down.value) == "Unlock at privacyIDEA: privacyIDEA could not be reached (ConnectError)."
    )


def test_unsupported_reports_raise_not_supported(privacyidea, service):
    username = privacyidea.take_user()
    end_user = _imported(service, username)

    with pytest.raises(mfa.NotSupported) as refused:
        service.provider_status()

    assert service.supports(mfa.CAPABILITY_TOKEN_RESYNC)
    assert not service.supports(mfa.CAPABILITY_DEVICE_REPORT)
    assert str(refused.value) == (
        "The MFA service does not report this (the health of its text message, call, email "
        "and push providers)."
    )
    assert service.fraud_signals(end_user_id=end_user.pk) == []
