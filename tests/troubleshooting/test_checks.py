from datetime import timedelta

import pytest

from enrollment import clock
from enrollment.mfa import AuthLogEntry, DeliveryReport, FraudSignal, SmsProviderStatus
from tests.factories import (
    ActivationLinkFactory,
    ApplicationFactory,
    AuthenticatorFactory,
    DeviceFactory,
    EndUserFactory,
    EnrollmentFactory,
    EnrollmentLinkFactory,
    GroupFactory,
    PolicyFactory,
)
from tests.troubleshooting.reporting_service import ReportingMFAService
from troubleshooting.checks import CheckContext, CheckResult, check, registry, run_check

pytestmark = pytest.mark.django_db


def ctx(user, application=None, **service) -> CheckContext:
    return CheckContext.build(user, application, mfa=ReportingMFAService(**service))


def test_registry_holds_the_checks_of_issue_6():
    ids = {spec.id for spec in registry.all()}

    # Later checks live in their own modules; these stay.
    assert ids >= {
        "user_status",
        "enrollment_stage",
        "device_compatibility",
        "device_health",
        "effective_policy",
        "contact_attributes",
        "authenticators",
        "auth_log",
        "fraud_signals",
        "sms_provider",
        "email_provider",
        "recent_delivery",
    }
    assert registry.get("user_status").all_outcomes == (
        "active",
        "pending_enrollment",
        "bypass",
        "locked_out",
        "disabled",
        "error",
        "timeout",
    )


def test_check_decorator_rejects_reserved_outcomes():
    with pytest.raises(ValueError, match="reserved outcomes"):
        check("broken_reserved", outcomes=["ok", "error"], facts=[])(lambda ctx: None)


def test_user_status_reports_status_and_privilege():
    admins = GroupFactory(name="Admins", privileged=True)
    user = EndUserFactory(status="locked_out", groups=[admins])

    result = run_check("user_status", ctx(user))

    assert result == CheckResult(
        "locked_out",
        {"username": user.username, "status": "locked_out", "privileged": True},
        {"user_status": "locked_out", "user_privileged": True},
    )


def test_enrollment_stage_not_started_without_enrollment_or_link():
    user = EndUserFactory(status="pending_enrollment")

    result = run_check("enrollment_stage", ctx(user))

    assert result.outcome == "not_started"
    assert result.facts == {
        "enrollment_stage": None,
        "enrollment_error": None,
        "enrollment_link_expired": False,
        "activation_link_expired": False,
        "enrollment_link_sent_count": 0,
    }


def test_enrollment_stage_in_progress_with_a_valid_link():
    user = EndUserFactory(status="pending_enrollment")
    EnrollmentLinkFactory(end_user=user, sent_count=1)
    EnrollmentFactory(end_user=user, stage="app_installed")

    result = run_check("enrollment_stage", ctx(user))

    assert result.outcome == "in_progress"
    assert result.facts["enrollment_stage"] == "app_installed"
    assert result.facts["enrollment_link_sent_count"] == 1
    assert result.evidence["link_expired"] is False


def test_enrollment_stage_link_expired_once_enroll_by_passed():
    user = EndUserFactory(status="pending_enrollment")
    now = clock.now()
    EnrollmentLinkFactory(
        end_user=user, created_at=now - timedelta(days=32), enroll_by=now - timedelta(days=2)
    )
    EnrollmentFactory(end_user=user, stage="invited")

    result = run_check("enrollment_stage", ctx(user))

    assert result.outcome == "link_expired"
    assert result.facts["enrollment_link_expired"] is True


def test_enrollment_stage_link_expired_by_advancing_the_clock():
    user = EndUserFactory(status="pending_enrollment")
    EnrollmentLinkFactory(end_user=user)
    EnrollmentFactory(end_user=user, stage="invited")
    clock.advance(timedelta(days=31))
    try:
        result = run_check("enrollment_stage", ctx(user))
    finally:
        clock.reset()

    assert result.outcome == "link_expired"


def test_enrollment_stage_activation_expired_for_the_pending_authenticator():
    user = EndUserFactory(status="pending_enrollment")
    authenticator = AuthenticatorFactory(end_user=user, status="pending_activation")
    now = clock.now()
    ActivationLinkFactory(
        authenticator=authenticator,
        created_at=now - timedelta(hours=48),
        expires_at=now - timedelta(hours=24),
    )
    EnrollmentFactory(end_user=user, stage="app_installed", authenticator=authenticator)

    result = run_check("enrollment_stage", ctx(user))

    assert result.outcome == "activation_expired"
    assert result.facts["activation_link_expired"] is True
    assert result.evidence["pending_authenticator"] == authenticator.name


def test_enrollment_stage_failed_names_the_error():
    user = EndUserFactory(status="pending_enrollment")
    EnrollmentFactory(end_user=user, stage="app_installed", error="duplicate_name")

    result = run_check("enrollment_stage", ctx(user))

    assert result.outcome == "failed"
    assert result.facts["enrollment_error"] == "duplicate_name"


def test_enrollment_stage_completed():
    user = EndUserFactory()
    EnrollmentFactory(end_user=user, stage="verified", completed_at=clock.now())

    assert run_check("enrollment_stage", ctx(user)).outcome == "completed"


def test_device_compatibility_os_below_policy_minimum():
    user = EndUserFactory()
    DeviceFactory(end_user=user, name="Galaxy", platform="android", os_version="10")
    PolicyFactory(min_os_versions={"ios": "16.0", "android": "12"})

    result = run_check("device_compatibility", ctx(user))

    assert result.outcome == "os_too_old"
    assert result.facts == {
        "device_os_below_minimum": True,
        "device_app_below_minimum": False,
        "device_platforms": ["android"],
    }
    assert result.evidence["devices"][0]["os_minimum"] == "12"
    assert result.evidence["min_os_versions_source"] == "global"


def test_device_compatibility_app_below_minimum():
    user = EndUserFactory()
    DeviceFactory(end_user=user, platform="android", os_version="13", app_version="3.9")

    result = run_check("device_compatibility", ctx(user))

    assert result.outcome == "app_outdated"
    assert result.evidence["min_app_version_source"] == "default"


def test_device_compatibility_ignores_lost_devices():
    user = EndUserFactory()
    DeviceFactory(end_user=user, platform="ios", os_version="12.0", lost_at=clock.now())
    DeviceFactory(end_user=user, platform="ios", os_version="17.4")

    assert run_check("device_compatibility", ctx(user)).outcome == "compatible"


def test_device_compatibility_no_device():
    assert run_check("device_compatibility", ctx(EndUserFactory())).outcome == "no_device"


def test_device_health_push_device_seen_recently_is_healthy():
    user = EndUserFactory()
    device = DeviceFactory(end_user=user, last_seen_at=clock.now() - timedelta(hours=2))
    AuthenticatorFactory(end_user=user, device=device)

    result = run_check("device_health", ctx(user))

    assert result.outcome == "healthy"
    assert result.facts == {
        "device_count": 1,
        "device_lost_count": 0,
        "device_push_capable": True,
        "device_last_seen_hours": 2.0,
    }


def test_device_health_not_seen_recently():
    user = EndUserFactory()
    DeviceFactory(end_user=user, last_seen_at=clock.now() - timedelta(days=10))

    assert run_check("device_health", ctx(user)).outcome == "not_seen_recently"


def test_device_health_without_push_registration():
    user = EndUserFactory()
    DeviceFactory(end_user=user, push_capable=False, last_seen_at=clock.now())

    assert run_check("device_health", ctx(user)).outcome == "not_push_capable"


def test_device_health_never_seen_and_lost_devices_counted():
    user = EndUserFactory()
    DeviceFactory(end_user=user, last_seen_at=None)
    DeviceFactory(end_user=user, lost_at=clock.now())

    result = run_check("device_health", ctx(user))

    assert result.outcome == "never_seen"
    assert result.facts["device_lost_count"] == 1


def test_effective_policy_mfa_disabled_names_the_source():
    app = ApplicationFactory(name="Wiki")
    PolicyFactory(scope="application", application=app, mfa_enabled=False)
    user = EndUserFactory()

    result = run_check("effective_policy", ctx(user, app))

    assert result.outcome == "mfa_disabled"
    assert result.facts["policy_sources"]["mfa_enabled"] == "application:Wiki"
    assert result.evidence["settings"]["mfa_enabled"] == {
        "value": False,
        "source": "application:Wiki",
    }


def test_effective_policy_methods_not_allowed_for_a_push_user():
    app = ApplicationFactory(name="Payroll")
    PolicyFactory(
        scope="application",
        application=app,
        allowed_methods=["sms", "voice"],
        default_method="sms",
    )
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user, method="push")

    result = run_check("effective_policy", ctx(user, app))

    assert result.outcome == "methods_not_allowed"
    assert result.facts["policy_allowed_methods"] == ["sms", "voice"]
    assert result.facts["policy_allows_user_methods"] is False


def test_effective_policy_not_permitted_group():
    app = ApplicationFactory(name="Payroll")
    finance = GroupFactory(name="Finance")
    sales = GroupFactory(name="Sales")
    PolicyFactory(
        scope="application", application=app, sets_permitted_groups=True, permitted_groups=[finance]
    )
    user = EndUserFactory(groups=[sales])

    assert run_check("effective_policy", ctx(user, app)).outcome == "not_permitted"


def test_effective_policy_enrollment_optional_for_unenrolled_user():
    PolicyFactory(enrollment_required=False)
    user = EndUserFactory(status="pending_enrollment")

    result = run_check("effective_policy", ctx(user))

    assert result.outcome == "enrollment_optional"
    assert result.facts["policy_enrollment_required"] is False


def test_effective_policy_new_devices_only():
    PolicyFactory(enforcement="new_devices_only", remembered_device_days=30)
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user)

    result = run_check("effective_policy", ctx(user))

    assert result.outcome == "new_devices_only"
    assert result.facts["policy_remembered_device_days"] == 30


def test_effective_policy_default_is_enforced():
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user)

    assert run_check("effective_policy", ctx(user)).outcome == "enforced"


def test_contact_attributes_malformed_mobile():
    user = EndUserFactory(mobile="555-013")

    result = run_check("contact_attributes", ctx(user))

    assert result.outcome == "malformed"
    assert result.evidence["malformed"] == ["mobile"]
    assert result.facts["mobile_present"] is True
    assert result.facts["mobile_valid"] is False


def test_contact_attributes_missing_mobile_for_sms_authenticator():
    user = EndUserFactory(mobile="")
    AuthenticatorFactory(end_user=user, method="sms", device=None)

    result = run_check("contact_attributes", ctx(user))

    assert result.outcome == "missing"
    assert result.facts["contact_missing_for"] == ["sms"]


def test_contact_attributes_malformed_email():
    user = EndUserFactory(email="dana.lee@example")

    assert run_check("contact_attributes", ctx(user)).outcome == "malformed"


def test_contact_attributes_complete():
    user = EndUserFactory(email="a.b@example.com", mobile="+14155550123", phone="")

    result = run_check("contact_attributes", ctx(user))

    assert result.outcome == "complete"
    assert result.facts["phone_present"] is False
    # Numbers reach the evidence (kept on the trail) by their last two digits only.
    assert result.evidence["mobile"] == {"value": "…23", "present": True, "valid": True}
    assert "4155550123" not in str(result.evidence)


def test_authenticators_name_conflict_with_revoked_one():
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user, status="revoked", name="Ivan's iPhone")
    AuthenticatorFactory(end_user=user, status="pending_activation", name="ivan's iphone")

    result = run_check("authenticators", ctx(user))

    assert result.outcome == "name_conflict"
    assert result.evidence["name_conflicts"] == ["Ivan's iPhone"]
    assert result.facts["authenticator_pending_count"] == 1


def test_authenticators_two_revoked_with_one_name_are_no_conflict():
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user, status="revoked", name="Old")
    AuthenticatorFactory(end_user=user, status="revoked", name="Old")

    assert run_check("authenticators", ctx(user)).outcome == "none"


def test_authenticators_by_status():
    user = EndUserFactory()
    AuthenticatorFactory(end_user=user, status="disabled")

    result = run_check("authenticators", ctx(user))

    assert result.outcome == "disabled"
    assert result.facts["authenticator_disabled_count"] == 1
    assert result.facts["authenticator_active_count"] == 0


def test_auth_log_newest_entry_for_the_application():
    app = ApplicationFactory(name="VPN")
    user = EndUserFactory()
    now = clock.now()
    entries = [
        AuthLogEntry(now - timedelta(minutes=1), "Mail", "push", "success", "user_approved", None),
        AuthLogEntry(now - timedelta(minutes=5), "VPN", "push", "denied", "no_response", None),
    ]

    result = run_check("auth_log", ctx(user, app, auth_log=entries))

    assert result.outcome == "denied"
    assert result.facts["last_auth_reason"] == "no_response"
    assert result.facts["last_auth_factor"] == "push"
    assert result.evidence["entries"][0]["application"] == "VPN"


def test_auth_log_service_error_result_is_not_the_reserved_error():
    entries = [
        AuthLogEntry(clock.now(), None, "sms", "error", "delivery_failed", None),
    ]

    result = run_check("auth_log", ctx(EndUserFactory(), auth_log=entries))

    assert result.outcome == "service_error"


def test_auth_log_no_attempts():
    assert run_check("auth_log", ctx(EndUserFactory())).outcome == "no_attempts"


def test_fraud_signals_open():
    signal = FraudSignal("f1", clock.now(), "user_marked_fraud", "push denied as fraud")

    result = run_check("fraud_signals", ctx(EndUserFactory(), fraud=[signal]))

    assert result.outcome == "open"
    assert result.facts == {"open_fraud_signals": 1}


@pytest.mark.parametrize(
    ("sms", "outcome"),
    [
        (SmsProviderStatus(configured=False, healthy=True, rate_limited=False), "unconfigured"),
        (SmsProviderStatus(configured=True, healthy=False, rate_limited=False), "unhealthy"),
        (SmsProviderStatus(configured=True, healthy=True, rate_limited=True), "rate_limited"),
        (SmsProviderStatus(configured=True, healthy=True, rate_limited=False), "healthy"),
    ],
)
def test_sms_provider_status(sms, outcome):
    assert run_check("sms_provider", ctx(EndUserFactory(), sms=sms)).outcome == outcome


def test_email_provider_unhealthy():
    result = run_check("email_provider", ctx(EndUserFactory(), email_healthy=False))

    assert result.outcome == "unhealthy"
    assert result.facts == {"email_healthy": False, "push_healthy": True}


def test_recent_delivery_failed_push():
    report = DeliveryReport(clock.now(), "push", "failed", "push token rejected")

    result = run_check("recent_delivery", ctx(EndUserFactory(), deliveries=[report]))

    assert result.outcome == "failed"
    assert result.facts == {"last_delivery_channel": "push", "last_delivery_status": "failed"}


def test_recent_delivery_keeps_two_digits_of_a_number_the_service_quotes():
    detail = "SMS provider rejected the number '+1415555': not a valid E.164 number."
    report = DeliveryReport(clock.now(), "sms", "failed", detail)

    result = run_check("recent_delivery", ctx(EndUserFactory(), deliveries=[report]))

    assert result.outcome == "failed"
    assert "+1415555" not in str(result.evidence)
    assert "…55" in str(result.evidence)


def test_run_check_service_unavailable_is_timeout():
    result = run_check("fraud_signals", ctx(EndUserFactory(), unavailable=True))

    assert result == CheckResult(
        "timeout", {"problem": "The MFA service did not answer: connection refused"}, {}
    )


def test_run_check_exception_in_check_is_error():
    @check("test_broken_check", outcomes=["ok"], facts=[])
    def broken(ctx):
        raise LookupError("no such thing")

    try:
        result = run_check("test_broken_check", ctx(EndUserFactory()))
    finally:
        del registry.specs["test_broken_check"]

    assert result == CheckResult("error", {"problem": "LookupError: no such thing"}, {})


def test_run_check_undeclared_outcome_or_fact_is_error():
    @check("test_sloppy_check", outcomes=["ok"], facts=["declared"])
    def sloppy(ctx):
        return "ok", {}, {"undeclared": 1}

    try:
        result = run_check("test_sloppy_check", ctx(EndUserFactory()))
    finally:
        del registry.specs["test_sloppy_check"]

    assert result == CheckResult(
        "error", {"problem": "the check set undeclared facts ['undeclared']"}, {}
    )
