"""The port as authsim implements it: sign-in rules, pushes, codes, lockout, reports."""

from datetime import timedelta

import pytest

from authsim import caller
from authsim.models import Attempt, Delivery, FraudReport, OtpSecret, SimDevice
from enrollment import clock
from enrollment.mfa import UnknownObject, get_mfa_service
from enrollment.models import BypassCode, EndUser, Policy
from enrollment.services.bypass import bypass_code_hash
from tests.authsim.factories import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return get_mfa_service()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(fn, **kwargs): call fn and let its after-commit tasks run, as a worker would."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def _phone(user: EndUser):
    return user.devices.get(platform__in=["ios", "android"])


def test_service_is_the_configured_default(service):
    assert type(service).__module__ == "authsim.service"


def test_unknown_end_user_raises_unknown_object(service):
    with pytest.raises(UnknownObject):
        service.sign_in(end_user_id=999_999)


# --- Policy gates ---------------------------------------------------------------------------


def test_exempt_group_signs_in_without_a_factor(service):
    user = world(
        user={"groups": ["Kiosk"]},
        policies=[{"scope": "global", "exempt_groups": ["Kiosk"]}],
    )
    attempt = service.sign_in(end_user_id=user.pk)
    assert (attempt.status, attempt.result, attempt.reason) == (
        "final",
        "success",
        "allowed_by_policy",
    )


def test_group_not_permitted_is_denied_by_policy(service):
    user = world(
        user={"groups": ["Sales"]},
        application="Payroll",
        policies=[{"scope": "application:Payroll", "permitted_groups": ["Finance"]}],
    )
    attempt = service.sign_in(end_user_id=user.pk, application="Payroll")
    assert (attempt.result, attempt.reason) == ("denied", "denied_by_policy")
    # The same user may still use an application without the rule.
    other = service.sign_in(end_user_id=user.pk, application="Mail")
    assert other.status == "pending"


def test_unenrolled_user_is_allowed_when_enrollment_is_optional(service):
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[],
        policies=[{"scope": "global", "enrollment_required": False}],
    )
    attempt = service.sign_in(end_user_id=user.pk)
    assert (attempt.result, attempt.reason) == ("success", "allowed_by_policy")


def test_unenrolled_user_is_denied_when_enrollment_is_required(service):
    user = world(user={"status": "pending_enrollment"}, authenticators=[])
    attempt = service.sign_in(end_user_id=user.pk)
    assert (attempt.result, attempt.reason) == ("denied", "deny_unenrolled_user")


def test_bypass_code_lets_a_bypass_user_in_once(service):
    user = world(user={"status": "bypass"})
    BypassCode.objects.create(
        end_user=user,
        code_hash=bypass_code_hash("48151623"),
        expires_at=clock.now() + timedelta(minutes=60),
    )
    first = service.sign_in(end_user_id=user.pk, passcode="48151623")
    second = service.sign_in(end_user_id=user.pk, passcode="48151623")
    assert (first.result, first.reason) == ("success", "bypass_user")
    assert (second.result, second.reason) == ("denied", "invalid_passcode")


def test_expired_bypass_code_is_refused(service):
    user = world(user={"status": "bypass"})
    BypassCode.objects.create(
        end_user=user,
        code_hash=bypass_code_hash("48151623"),
        created_at=clock.now() - timedelta(hours=2),
        expires_at=clock.now() - timedelta(hours=1),
    )
    attempt = service.sign_in(end_user_id=user.pk, passcode="48151623")
    assert (attempt.result, attempt.reason) == ("denied", "invalid_passcode")


def test_method_outside_allowed_methods_is_factor_restricted(service):
    user = world(policies=[{"scope": "global", "allowed_methods": ["push", "totp"]}])
    attempt = service.sign_in(end_user_id=user.pk, factor="sms")
    assert (attempt.result, attempt.reason) == ("denied", "factor_restricted")


def test_os_below_minimum_is_platform_restricted_and_app_below_is_out_of_date(service):
    old_os = world(devices=[{"key": "phone", "platform": "ios", "os_version": "15.7"}])
    old_app = world(devices=[{"key": "phone", "app_version": "3.2"}])
    first = service.sign_in(end_user_id=old_os.pk)
    second = service.sign_in(end_user_id=old_app.pk)
    assert (first.result, first.reason) == ("denied", "platform_restricted")
    assert (second.result, second.reason) == ("denied", "out_of_date")


def test_remembered_device_is_only_honoured_by_new_devices_only(service):
    every_login = world(devices=[{"key": "phone", "remembered": True}])
    attempt = service.sign_in(end_user_id=every_login.pk)
    assert attempt.status == "pending"


# --- Pushes -------------------------------------------------------------------------------


def test_push_is_pending_then_delivered_by_its_task_and_approved(service, run):
    user = world()
    attempt = run(service.sign_in, end_user_id=user.pk, application="VPN")
    assert (attempt.status, attempt.factor, attempt.application) == ("pending", "push", "VPN")
    phone = _phone(user)
    assert len(caller.visible_pushes(phone)) == 1
    assert caller.perform("approve_push", end_user_id=user.pk).ok is True
    final = service.attempt(attempt_id=attempt.id)
    assert (final.status, final.result, final.reason) == ("final", "success", "user_approved")
    assert [(d.channel, d.status) for d in service.delivery_log(end_user_id=user.pk)] == [
        ("push", "delivered")
    ]


def test_unanswered_push_times_out_at_the_push_timeout_a_minute_by_default(service, run):
    user = world(policies=[{"scope": "global", "code_timeout_seconds": 300}])
    attempt = run(service.sign_in, end_user_id=user.pk)
    clock.advance(timedelta(seconds=59))
    assert service.attempt(attempt_id=attempt.id).status == "pending"
    clock.advance(timedelta(seconds=1))
    final = service.attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("denied", "no_response")
    row = Attempt.objects.get(public_id=attempt.id)
    assert row.detail == "No answer before the prompt timed out."


def test_the_push_timeout_is_a_policy_setting_and_codes_keep_the_code_timeout(service, run):
    user = world(
        policies=[{"scope": "global", "code_timeout_seconds": 300}],
        authenticators=[{"method": "push", "device": "phone"}, {"method": "sms"}],
    )
    Policy.objects.filter(scope="global").update(push_timeout_seconds=90)
    push = run(service.sign_in, end_user_id=user.pk, factor="push")
    text = run(service.sign_in, end_user_id=user.pk, factor="sms")
    clock.advance(timedelta(seconds=89))
    assert service.attempt(attempt_id=push.id).status == "pending"
    clock.advance(timedelta(seconds=1))
    assert service.attempt(attempt_id=push.id).reason == "no_response"
    clock.advance(timedelta(seconds=209))
    assert service.attempt(attempt_id=text.id).status == "pending"
    clock.advance(timedelta(seconds=1))
    assert service.attempt(attempt_id=text.id).reason == "no_response"


@pytest.mark.parametrize(
    "device",
    [
        {"notifications_enabled": False},
        {"online": False, "network": "none"},
        {"push_token_valid": False},
    ],
)
def test_push_never_shown_on_a_faulty_device(device, service, run):
    user = world(devices=[{"key": "phone", **device}])
    run(service.sign_in, end_user_id=user.pk)
    assert caller.visible_pushes(_phone(user)) == []


def test_offline_push_arrives_when_the_device_reconnects(service, run):
    user = world(devices=[{"key": "phone", "online": False, "network": "none"}])
    attempt = run(service.sign_in, end_user_id=user.pk)
    assert service.delivery_log(end_user_id=user.pk)[0].status == "queued"
    caller.perform("reconnect_network", end_user_id=user.pk)
    assert len(caller.visible_pushes(_phone(user))) == 1
    caller.perform("approve_push", end_user_id=user.pk)
    assert service.attempt(attempt_id=attempt.id).reason == "user_approved"


def test_deny_as_fraud_records_a_fraud_report_and_blocks_sign_in(service, run):
    user = world()
    attempt = run(service.sign_in, end_user_id=user.pk)
    assert caller.perform("deny_push", end_user_id=user.pk, fraud=True).ok is True
    final = service.attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("fraud", "user_marked_fraud")
    signals = service.fraud_signals(end_user_id=user.pk)
    assert [s.source for s in signals] == ["user_marked_fraud"]
    blocked = service.sign_in(end_user_id=user.pk)
    assert (blocked.result, blocked.reason) == ("fraud", "user_marked_fraud")
    service.resolve_fraud_signal(signal_id=signals[0].id)
    assert service.fraud_signals(end_user_id=user.pk) == []


def test_plain_deny_is_user_denied(service, run):
    user = world()
    attempt = run(service.sign_in, end_user_id=user.pk)
    caller.perform("deny_push", end_user_id=user.pk)
    final = service.attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("denied", "user_denied")
    assert FraudReport.objects.count() == 0


def test_verification_push_is_approved_on_the_device(service, run):
    user = world()
    phone = _phone(user)
    push = run(
        service.send_verification_push,
        end_user_id=user.pk,
        device_id=phone.pk,
        context="Helpdesk ticket 42: confirm it is you",
    )
    assert push.status == "pending"
    caller.perform("approve_push", end_user_id=user.pk)
    assert service.push_status(push_id=push.id).status == "approved"
    # A verification push is not a sign-in: the auth log stays empty.
    assert service.auth_log(end_user_id=user.pk) == []


def test_verification_push_times_out(service, run):
    user = world(devices=[{"key": "phone", "notifications_enabled": False}])
    push = run(
        service.send_verification_push, end_user_id=user.pk, device_id=_phone(user).pk, context="x"
    )
    clock.advance(timedelta(seconds=59))
    assert service.push_status(push_id=push.id).status == "pending"
    clock.advance(timedelta(seconds=1))
    assert service.push_status(push_id=push.id).status == "timed_out"


def test_new_devices_only_remembers_a_device_after_an_approved_push(service, run):
    user = world(
        policies=[
            {"scope": "global", "enforcement": "new_devices_only", "remembered_device_days": 7}
        ]
    )
    run(service.sign_in, end_user_id=user.pk)
    caller.perform("approve_push", end_user_id=user.pk)
    again = service.sign_in(end_user_id=user.pk)
    assert (again.result, again.reason) == ("success", "remembered_device")
    clock.advance(timedelta(days=8))
    assert service.sign_in(end_user_id=user.pk).status == "pending"


# --- Codes --------------------------------------------------------------------------------


def _sms_user(**providers):
    return world(
        devices=[],
        authenticators=[{"method": "sms", "name": "Mobile"}],
        providers={"sms": providers} if providers else {},
    )


def test_sms_code_arrives_and_is_accepted_once(service, run):
    user = _sms_user()
    attempt = run(service.sign_in, end_user_id=user.pk, factor="sms")
    [message] = caller.inbox(user)
    final = service.sign_in(end_user_id=user.pk, factor="sms", passcode=message.code)
    assert (final.id, final.result, final.reason) == (attempt.id, "success", "valid_passcode")
    replay = service.sign_in(end_user_id=user.pk, factor="sms", passcode=message.code)
    assert (replay.result, replay.reason) == ("denied", "invalid_passcode")


@pytest.mark.parametrize(
    ("providers", "status"),
    [
        ({"configured": False}, "failed"),
        ({"healthy": False}, "failed"),
        ({"rate_limited": True}, "rate_limited"),
    ],
)
def test_sms_provider_faults_fail_the_delivery(providers, status, service, run):
    user = _sms_user(**providers)
    attempt = run(service.sign_in, end_user_id=user.pk, factor="sms")
    final = service.attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("error", "delivery_failed")
    assert service.delivery_log(end_user_id=user.pk)[0].status == status


def test_malformed_mobile_fails_the_delivery(service, run):
    user = world(user={"mobile": "555-0123"}, devices=[], authenticators=[{"method": "sms"}])
    attempt = run(service.sign_in, end_user_id=user.pk, factor="sms")
    assert service.attempt(attempt_id=attempt.id).reason == "delivery_failed"
    assert "not a valid E.164 number" in service.delivery_log(end_user_id=user.pk)[0].detail


def test_carrier_delay_delivers_after_the_delay_of_simulated_time(service, run):
    user = _sms_user(carrier_delay_seconds=120)
    run(service.sign_in, end_user_id=user.pk, factor="sms")
    assert caller.inbox(user) == []
    clock.advance(timedelta(seconds=120))
    assert len(caller.inbox(user)) == 1
    assert service.delivery_log(end_user_id=user.pk)[0].status == "delayed"


def test_sms_code_expires_after_the_code_timeout(service, run):
    user = _sms_user()
    run(service.sign_in, end_user_id=user.pk, factor="sms")
    [message] = caller.inbox(user)
    clock.advance(timedelta(seconds=300))
    late = service.sign_in(end_user_id=user.pk, factor="sms", passcode=message.code)
    assert (late.result, late.reason) == ("denied", "invalid_passcode")


def test_resend_limit_refuses_further_codes(service, run):
    user = world(
        devices=[],
        authenticators=[{"method": "sms"}],
        policies=[{"scope": "global", "resend_limit": 1}],
    )
    run(service.sign_in, end_user_id=user.pk, factor="sms")
    run(service.sign_in, end_user_id=user.pk, factor="sms")
    third = run(service.sign_in, end_user_id=user.pk, factor="sms")
    assert (third.result, third.reason) == ("error", "delivery_failed")
    assert service.delivery_log(end_user_id=user.pk)[0].status == "rate_limited"


def test_filtered_email_lands_in_the_spam_folder(service, run):
    user = world(
        devices=[],
        authenticators=[{"method": "email"}],
        providers={"email": {"sender_filtered": True}},
    )
    run(service.sign_in, end_user_id=user.pk, factor="email")
    assert caller.inbox(user) == []
    assert len(caller.inbox(user, folder="spam")) == 1
    caller.perform("check_spam_folder", end_user_id=user.pk)
    assert len(caller.inbox(user)) == 1


def test_voice_code_is_read_out(service, run):
    user = world(user={"phone": "+14155550177"}, devices=[], authenticators=[{"method": "voice"}])
    run(service.sign_in, end_user_id=user.pk, factor="voice")
    [call] = caller.inbox(user)
    assert (call.channel, call.recipient) == ("voice", "+14155550177")


# --- TOTP and HOTP ------------------------------------------------------------------------


def _totp_user(**device):
    return world(
        devices=[{"key": "phone", "platform": "android", "os_version": "14", **device}],
        authenticators=[{"method": "totp", "device": "phone"}],
    )


def test_totp_code_from_the_device_clock_is_accepted_within_the_drift_window(service):
    user = _totp_user(automatic_time=False, clock_offset_seconds=25)
    code = caller.peek_totp(_phone(user))
    attempt = service.sign_in(end_user_id=user.pk, factor="totp", passcode=code)
    assert (attempt.result, attempt.reason) == ("success", "valid_passcode")


def test_totp_code_beyond_the_drift_window_is_invalid_until_automatic_time(service):
    user = _totp_user(automatic_time=False, clock_offset_seconds=-240)
    phone = _phone(user)
    bad = service.sign_in(end_user_id=user.pk, factor="totp", passcode=caller.peek_totp(phone))
    assert (bad.result, bad.reason) == ("denied", "invalid_passcode")
    caller.perform("enable_automatic_time", end_user_id=user.pk)
    good = service.sign_in(end_user_id=user.pk, factor="totp", passcode=caller.peek_totp(phone))
    assert (good.result, good.reason) == ("success", "valid_passcode")


def test_automatic_time_on_ignores_the_stored_offset(service):
    user = _totp_user(automatic_time=True, clock_offset_seconds=600)
    code = caller.peek_totp(_phone(user))
    assert service.sign_in(end_user_id=user.pk, factor="totp", passcode=code).reason == (
        "valid_passcode"
    )


def test_totp_resync_through_the_port_accepts_the_skewed_device(service):
    user = _totp_user(automatic_time=False, clock_offset_seconds=240)
    phone = _phone(user)
    authenticator = user.authenticators.get()
    first = caller.peek_totp(phone)
    clock.advance(timedelta(seconds=30))
    second = caller.peek_totp(phone)
    result = service.resync_token(
        authenticator_id=authenticator.pk, first_code=first, second_code=second
    )
    assert (result.ok, result.offset_steps) == (True, 8)
    attempt = service.sign_in(end_user_id=user.pk, factor="totp", passcode=caller.peek_totp(phone))
    assert attempt.reason == "valid_passcode"


def _token_user():
    return world(
        devices=[{"key": "token", "platform": "hardware_token", "app_installed": False}],
        authenticators=[{"method": "hotp_token", "device": "token", "serial": "HT-1001"}],
    )


def test_hotp_counter_advances_and_a_used_code_is_refused(service):
    user = _token_user()
    token = user.devices.get()
    code = caller.current_code(token)
    first = service.sign_in(end_user_id=user.pk, factor="hotp_token", passcode=code)
    again = service.sign_in(end_user_id=user.pk, factor="hotp_token", passcode=code)
    assert (first.reason, again.reason) == ("valid_passcode", "invalid_passcode")
    assert OtpSecret.objects.get(authenticator__end_user=user).counter == 1


def test_hotp_token_pressed_beyond_the_look_ahead_needs_a_resync(service):
    user = _token_user()
    token = user.devices.get()
    SimDevice.objects.filter(device=token).update(token_counter=50)
    stray = service.sign_in(
        end_user_id=user.pk, factor="hotp_token", passcode=caller.current_code(token)
    )
    assert stray.reason == "invalid_passcode"
    first, second = caller.current_code(token), caller.current_code(token)
    result = service.resync_token(
        authenticator_id=user.authenticators.get().pk, first_code=first, second_code=second
    )
    assert (result.ok, result.offset_steps) == (True, 51)
    attempt = service.sign_in(
        end_user_id=user.pk, factor="hotp_token", passcode=caller.current_code(token)
    )
    assert attempt.reason == "valid_passcode"


def test_resync_with_unrelated_codes_fails(service):
    user = _token_user()
    result = service.resync_token(
        authenticator_id=user.authenticators.get().pk, first_code="123456", second_code="654321"
    )
    assert (result.ok, result.reason) == (False, "codes_not_consecutive")


def test_verify_passcode_checks_without_logging_a_sign_in(service):
    user = _totp_user()
    code = caller.peek_totp(_phone(user))
    assert service.verify_passcode(end_user_id=user.pk, passcode=code).ok is True
    assert service.verify_passcode(end_user_id=user.pk, passcode="000000").ok is False
    assert Attempt.objects.count() == 0


# --- Lockout and the auth log -------------------------------------------------------------


def test_lockout_after_the_policys_maximum_invalid_attempts(service):
    user = _totp_user()
    user.refresh_from_db()
    results = [
        service.sign_in(end_user_id=user.pk, factor="totp", passcode="000000").reason
        for _ in range(6)
    ]
    assert results == ["invalid_passcode"] * 5 + ["locked_out"]
    user.refresh_from_db()
    assert user.status == "locked_out"
    service.unlock_user(end_user_id=user.pk)
    user.refresh_from_db()
    assert user.status == "active"
    code = caller.peek_totp(_phone(user))
    assert service.sign_in(end_user_id=user.pk, factor="totp", passcode=code).reason == (
        "valid_passcode"
    )


def test_no_lockout_when_the_policy_sets_no_limit(service):
    user = world(
        devices=[{"key": "phone", "platform": "android", "os_version": "14"}],
        authenticators=[{"method": "totp", "device": "phone"}],
        policies=[{"scope": "global", "max_invalid_attempts": None}],
    )
    reasons = {
        service.sign_in(end_user_id=user.pk, factor="totp", passcode="000000").reason
        for _ in range(12)
    }
    assert reasons == {"invalid_passcode"}


def test_every_attempt_has_an_auth_log_entry_with_result_and_reason(service, run):
    user = world(user={"groups": ["Sales"]})
    run(service.sign_in, end_user_id=user.pk, application="VPN")  # push, will time out
    service.sign_in(end_user_id=user.pk, factor="sms")  # no sms authenticator
    service.sign_in(end_user_id=user.pk, passcode="000000")
    clock.advance(timedelta(seconds=301))
    log = service.auth_log(end_user_id=user.pk)
    assert [(e.factor, e.result, e.reason) for e in log] == [
        ("auto", "denied", "invalid_passcode"),
        ("sms", "denied", "no_activated_app"),
        ("push", "denied", "no_response"),
    ]
    assert Attempt.objects.filter(end_user=user).count() == len(log)


# --- Reports ------------------------------------------------------------------------------


def test_device_report_shows_what_the_service_knows_not_device_truth(service):
    user = world(devices=[{"key": "phone", "notifications_enabled": False, "lost": True}])
    [report] = service.device_report(end_user_id=user.pk)
    assert (report.platform, report.os_version, report.app_version, report.push_capable) == (
        "ios",
        "17.4",
        "4.80",
        True,
    )
    # The phone is lost in truth, but nobody told the service yet.
    assert report.lost is False
    assert not hasattr(report, "notifications_enabled")


def test_provider_status_reports_the_providers(service):
    world(providers={"sms": {"healthy": False}, "voice": {"healthy": False}})
    status = service.provider_status()
    assert (status.sms.configured, status.sms.healthy, status.voice.healthy) == (
        True,
        False,
        False,
    )


def test_notify_end_user_emails_through_the_service(service, run):
    user = world()
    run(service.notify_end_user, end_user_id=user.pk, subject="Bypass code issued", body="…")
    [mail] = caller.inbox(user)
    assert (mail.subject, mail.channel) == ("Bypass code issued", "email")


def test_reset_authenticator_forgets_secret_and_push_registration(service):
    user = world()
    authenticator = user.authenticators.get()
    service.reset_authenticator(authenticator_id=authenticator.pk)
    assert OtpSecret.objects.filter(authenticator=authenticator).exists() is False
    assert service.device_report(end_user_id=user.pk)[0].push_capable is False


def test_delivery_task_is_idempotent(service, run):
    from authsim.tasks import deliver_message

    user = _sms_user()
    run(service.sign_in, end_user_id=user.pk, factor="sms")
    delivery = Delivery.objects.get(end_user=user)
    deliver_message(delivery_id=delivery.pk)
    assert Delivery.objects.filter(end_user=user).count() == 1
    assert len(caller.inbox(user)) == 1


# --- Knobs beyond the root-cause files: what the service reports, and what fixes it --------


def test_app_not_installed_push_fails_until_the_app_is_reinstalled(service, run):
    user = world(devices=[{"key": "phone", "app_installed": False}])
    assert service.device_report(end_user_id=user.pk)[0].push_capable is False
    attempt = run(service.sign_in, end_user_id=user.pk, factor="push")
    clock.advance(timedelta(seconds=300))
    assert service.attempt(attempt_id=attempt.id).reason == "no_response"
    assert service.delivery_log(end_user_id=user.pk)[0].status == "failed"
    caller.perform("reinstall_app", end_user_id=user.pk)
    assert service.device_report(end_user_id=user.pk)[0].push_capable is True
    again = run(service.sign_in, end_user_id=user.pk, factor="push")
    caller.perform("approve_push", end_user_id=user.pk)
    assert service.attempt(attempt_id=again.id).reason == "user_approved"


@pytest.mark.parametrize(
    ("method", "user_spec", "providers", "provider_fix", "user_fix"),
    [
        (
            "voice",
            {"phone": "+14155550188"},
            {"voice": {"healthy": False}},
            {"voice_healthy": True},
            {},
        ),
        ("email", {}, {"email": {"healthy": False}}, {"email_healthy": True}, {}),
        ("email", {"email": None}, {}, {}, {"email": "back@example.com"}),
        ("voice", {"mobile": None, "phone": None}, {}, {}, {"phone": "+14155550189"}),
    ],
)
def test_channel_faults_fail_delivery_until_fixed(
    method, user_spec, providers, provider_fix, user_fix, service, run
):
    from authsim.models import ProviderState

    user = world(
        user=user_spec, devices=[], authenticators=[{"method": method}], providers=providers
    )
    attempt = run(service.sign_in, end_user_id=user.pk, factor=method)
    final = service.attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("error", "delivery_failed")
    ProviderState.objects.filter(pk=1).update(**provider_fix)
    EndUser.objects.filter(pk=user.pk).update(**user_fix)
    run(service.sign_in, end_user_id=user.pk, factor=method)
    [message] = caller.inbox(user, channels=(method,))
    ok = service.sign_in(end_user_id=user.pk, factor=method, passcode=message.code)
    assert (ok.result, ok.reason) == ("success", "valid_passcode")


def test_auto_picks_the_policys_default_method(service, run):
    user = world(
        devices=[{"key": "phone"}],
        authenticators=[{"method": "push", "device": "phone"}, {"method": "sms"}],
        policies=[{"scope": "global", "default_method": "sms"}],
    )
    attempt = run(service.sign_in, end_user_id=user.pk)
    assert (attempt.status, attempt.factor) == ("pending", "sms")


def test_group_policy_overrides_the_application_policy(service):
    user = world(
        user={"groups": ["Contractors"]},
        application="CRM",
        policies=[
            {"scope": "application:CRM", "allowed_methods": ["push"]},
            {"scope": "group:Contractors", "allowed_methods": ["sms"]},
        ],
    )
    attempt = service.sign_in(end_user_id=user.pk, application="CRM", factor="push")
    assert (attempt.result, attempt.reason) == ("denied", "factor_restricted")


def test_backup_codes_each_work_once_and_count_down(service):
    user = world(devices=[], authenticators=[{"method": "backup_codes", "remaining_codes": 2}])
    first = caller.sign_in_as_end_user(end_user_id=user.pk, factor="backup_codes")
    assert (first.result, first.reason, first.factor) == (
        "success",
        "valid_passcode",
        "backup_codes",
    )
    assert user.authenticators.get().remaining_codes == 1
    caller.sign_in_as_end_user(end_user_id=user.pk, factor="backup_codes")
    assert user.authenticators.get().remaining_codes == 0
    # Nothing left to type: the prompt waits and times out.
    spent = caller.sign_in_as_end_user(end_user_id=user.pk, factor="backup_codes")
    assert (spent.result, spent.reason) == ("denied", "no_response")


def test_used_backup_code_is_refused(service):
    user = world(devices=[], authenticators=[{"method": "backup_codes"}])
    code = caller.backup_code(user)
    assert service.sign_in(end_user_id=user.pk, passcode=code).reason == "valid_passcode"
    assert service.sign_in(end_user_id=user.pk, passcode=code).reason == "invalid_passcode"
