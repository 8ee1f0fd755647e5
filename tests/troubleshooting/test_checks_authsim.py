"""The checks against the simulated MFA service (authsim) behind the port, on the bundled
scenarios: what each check reports for the world a scenario builds, after the end user's own
failed sign-in — the evidence a playbook routes on."""

import pytest

from authsim import caller
from enrollment.mfa import get_mfa_service
from enrollment.models import Application
from tests.authsim.helpers import load
from troubleshooting.checks import CheckContext, run_check

pytestmark = pytest.mark.django_db

# scenario -> {check id: expected outcome}
EXPECTED: dict[str, dict[str, str]] = {
    # enrollment
    "enrollment-incomplete": {
        "user_status": "pending_enrollment",
        "enrollment_stage": "in_progress",
        "authenticators": "pending_activation",
        "device_compatibility": "compatible",
    },
    "device-incompatible": {"enrollment_stage": "failed", "device_compatibility": "os_too_old"},
    "network-unreachable": {"enrollment_stage": "in_progress"},
    "qr-scan-blocked": {"enrollment_stage": "in_progress"},
    "invalid-manual-key": {"enrollment_stage": "failed"},
    "activation-link-expired": {"enrollment_stage": "activation_expired"},
    "enrollment-link-expired": {"enrollment_stage": "link_expired"},
    "activation-email-not-received": {
        "enrollment_stage": "in_progress",
        "email_provider": "healthy",
    },
    "duplicate-authenticator-name": {
        "enrollment_stage": "failed",
        "authenticators": "name_conflict",
    },
    "invalid-token-serial": {"enrollment_stage": "failed"},
    "otp-channel-unavailable": {"contact_attributes": "missing"},
    "enrollment-not-enforced": {"effective_policy": "enrollment_optional"},
    "no-authenticator": {"user_status": "active", "authenticators": "none"},
    # prompt
    "push-notifications-disabled": {
        "effective_policy": "enforced",
        "auth_log": "denied",
        "recent_delivery": "delivered",
    },
    "device-offline": {"auth_log": "denied", "recent_delivery": "queued"},
    "push-token-stale": {"auth_log": "denied", "recent_delivery": "failed"},
    "app-outdated": {"device_compatibility": "app_outdated", "auth_log": "denied"},
    "policy-misconfiguration": {"effective_policy": "methods_not_allowed"},
    "mfa-disabled": {"effective_policy": "mfa_disabled", "auth_log": "success"},
    "remembered-device": {"effective_policy": "new_devices_only", "auth_log": "success"},
    "session-still-valid": {"auth_log": "success"},
    # other complaints whose checks the two playbooks use too
    "fraud-reported": {"fraud_signals": "open"},
    "user-locked-out": {"user_status": "locked_out"},
    "user-disabled": {"user_status": "disabled"},
    "authenticator-disabled": {"authenticators": "disabled"},
    "access-rule-denies": {"effective_policy": "not_permitted"},
    "sms-provider-unconfigured": {"sms_provider": "unconfigured"},
    "sms-provider-unhealthy": {"sms_provider": "unhealthy"},
    "sms-rate-limited": {"sms_provider": "rate_limited"},
    "phone-number-invalid": {"contact_attributes": "malformed"},
}

# What the reported reason says for the scenarios the auth log distinguishes.
REASONS = {
    "push-notifications-disabled": "no_response",
    "app-outdated": "out_of_date",
    "mfa-disabled": "allowed_by_policy",
    "remembered-device": "remembered_device",
    "session-still-valid": "valid_session",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_checks_report_the_scenario_through_the_port(name, django_capture_on_commit_callbacks):
    scenario, user = load(name)
    with django_capture_on_commit_callbacks(execute=True):
        caller.sign_in_as_end_user(end_user_id=user.pk, application=scenario.application)
    application = Application.objects.filter(name=scenario.application).first()
    ctx = CheckContext.build(user, application, mfa=get_mfa_service())

    results = {check_id: run_check(check_id, ctx) for check_id in EXPECTED[name]}

    assert {check_id: result.outcome for check_id, result in results.items()} == EXPECTED[name]
    if name in REASONS:
        assert results["auth_log"].facts["last_auth_reason"] == REASONS[name]


def test_enrollment_error_fact_names_the_error():
    _, user = load("duplicate-authenticator-name")
    ctx = CheckContext.build(user, None, mfa=get_mfa_service())

    assert run_check("enrollment_stage", ctx).facts["enrollment_error"] == "duplicate_name"
