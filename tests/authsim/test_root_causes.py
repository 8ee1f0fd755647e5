"""Every root cause of design.md, produced from its scenario file, seen through the port the
way a real service shows it, and fixed by a caller action or a service action.

The service enqueues deliveries after commit; each fix step runs with its after-commit
callbacks executed, and the simulated end user lets due deliveries run whenever simulated
time passes, as simulate_case does.
"""

from collections.abc import Callable

import pytest

from authsim import caller
from authsim.models import ProviderState, SimDevice
from authsim.scenarios import bundled_scenarios, read_scenario
from authsim.vocab import ROOT_CAUSES
from enrollment.mfa import get_mfa_service
from enrollment.models import Authenticator, EndUser, Group, Policy
from enrollment.services.links import activation_link_issue, enrollment_link_issue
from tests.authsim.helpers import act, load, new_phone

pytestmark = pytest.mark.django_db

Step = Callable[[EndUser], None]


def do(action: str) -> Step:
    return lambda user: act(action, user)


def issue_enrollment_link(user: EndUser) -> None:
    enrollment_link_issue(end_user=user)


def issue_activation_link(user: EndUser) -> None:
    pending = user.authenticators.get(status="pending_activation")
    activation_link_issue(authenticator=pending)


def set_user(**fields) -> Step:
    def step(user: EndUser) -> None:
        EndUser.objects.filter(pk=user.pk).update(**fields)

    return step


def set_policy(scope: str, **fields) -> Step:
    def step(user: EndUser) -> None:
        kind, _, name = scope.partition(":")
        if kind == "application":
            policy = Policy.objects.get(application__name=name)
        else:
            policy = Policy.objects.get(scope="global")
        for key, value in fields.items():
            setattr(policy, key, value)
        policy.save()

    return step


def set_providers(**fields) -> Step:
    return lambda user: ProviderState.objects.filter(pk=1).update(**fields)


def correct_token_serial(user: EndUser) -> None:
    # The caller reads the serial off the back of the token; the directory is corrected.
    token = user.authenticators.get(method="hotp_token")
    token.serial = SimDevice.objects.get(device=token.device).serial
    token.status = "active"
    token.save()


def enable_authenticators(user: EndUser) -> None:
    user.authenticators.filter(status="disabled").update(status="active")


def add_to_group(name: str) -> Step:
    return lambda user: user.groups.add(Group.objects.get_or_create(name=name)[0])


def resolve_fraud(user: EndUser) -> None:
    service = get_mfa_service()
    for signal in service.fraud_signals(end_user_id=user.pk):
        service.resolve_fraud_signal(signal_id=signal.id)


def unlock(user: EndUser) -> None:
    get_mfa_service().unlock_user(end_user_id=user.pk)


def retire_and_invite(user: EndUser) -> None:
    # The technician retires the old authenticator and sends a new enrollment link; the end
    # user has a new phone to set up.
    service = get_mfa_service()
    for authenticator in user.authenticators.exclude(status="revoked"):
        service.reset_authenticator(authenticator_id=authenticator.pk)
        Authenticator.objects.filter(pk=authenticator.pk).update(status="revoked")
    new_phone(user)
    enrollment_link_issue(end_user=user)


def on_new_phone(action: str) -> Step:
    return lambda user: act(action, user, device_id=user.devices.get(name="New phone").pk)


REENROLL_ON_NEW_PHONE = [
    retire_and_invite,
    on_new_phone("open_enrollment_link"),
    on_new_phone("scan_qr_code"),
]


ENROLL = [issue_enrollment_link, do("open_enrollment_link"), do("scan_qr_code")]

# root cause -> (the fix, the factor the end user signs in with afterwards, the reason then)
FIXES: dict[str, tuple[list[Step], str, str]] = {
    "enrollment_incomplete": ([do("scan_qr_code")], "auto", "user_approved"),
    "device_incompatible": (REENROLL_ON_NEW_PHONE, "auto", "user_approved"),
    "network_unreachable": (
        [do("reconnect_network"), do("scan_qr_code")],
        "auto",
        "user_approved",
    ),
    "qr_scan_blocked": (
        [do("grant_camera_permission"), do("scan_qr_code")],
        "auto",
        "user_approved",
    ),
    "invalid_manual_key": ([do("enter_manual_key")], "auto", "valid_passcode"),
    "activation_link_expired": (
        [issue_activation_link, do("scan_qr_code")],
        "auto",
        "user_approved",
    ),
    "enrollment_link_expired": (ENROLL, "auto", "user_approved"),
    "activation_email_not_received": (
        [do("check_spam_folder"), do("open_enrollment_link"), do("scan_qr_code")],
        "auto",
        "user_approved",
    ),
    "duplicate_authenticator_name": (
        [do("rename_authenticator"), do("scan_qr_code")],
        "auto",
        "user_approved",
    ),
    "invalid_token_serial": ([correct_token_serial], "hotp_token", "valid_passcode"),
    "otp_channel_unavailable": ([set_user(mobile="+14155550199")], "sms", "valid_passcode"),
    "enrollment_not_enforced": (ENROLL, "auto", "user_approved"),
    "push_notifications_disabled": ([do("enable_notifications")], "push", "user_approved"),
    "device_offline": ([do("reconnect_network")], "push", "user_approved"),
    "push_token_stale": ([do("reinstall_app")], "push", "user_approved"),
    "app_outdated": ([do("update_app")], "auto", "user_approved"),
    "policy_misconfiguration": (
        [
            set_policy(
                "application:Payroll",
                allowed_methods=["push", "sms", "voice"],
                default_method="push",
            )
        ],
        "auto",
        "user_approved",
    ),
    "mfa_disabled": ([set_policy("application:Wiki", mfa_enabled=True)], "auto", "user_approved"),
    # Working as designed: nothing to fix, and signing in keeps working.
    "remembered_device": ([], "auto", "remembered_device"),
    "session_still_valid": ([do("sign_out_and_in")], "auto", "user_approved"),
    "clock_skew": ([do("enable_automatic_time")], "totp", "valid_passcode"),
    "sms_provider_unconfigured": ([set_providers(sms_configured=True)], "sms", "valid_passcode"),
    # Fallback to a phone call while the provider is down or throttled.
    "sms_provider_unhealthy": ([], "voice", "valid_passcode"),
    "sms_rate_limited": ([], "voice", "valid_passcode"),
    "phone_number_invalid": ([set_user(mobile="+14155550139")], "sms", "valid_passcode"),
    "carrier_delay": ([], "voice", "valid_passcode"),
    "email_code_filtered": ([do("check_spam_folder")], "email", "valid_passcode"),
    "code_expired": (
        [set_policy("application:Payroll", code_timeout_seconds=300)],
        "sms",
        "valid_passcode",
    ),
    "user_locked_out": ([unlock], "auto", "user_approved"),
    "lost_device": (REENROLL_ON_NEW_PHONE, "auto", "user_approved"),
    "fallback_disabled": ([set_policy("global", allow_fallback=True)], "sms", "valid_passcode"),
    "user_disabled": ([set_user(status="active")], "auto", "user_approved"),
    "authenticator_disabled": ([enable_authenticators], "auto", "user_approved"),
    "no_authenticator": (ENROLL, "auto", "user_approved"),
    "access_rule_denies": ([add_to_group("Finance")], "auto", "user_approved"),
    "fraud_reported": ([resolve_fraud], "auto", "user_approved"),
}


def clear_exemptions(user: EndUser) -> None:
    for policy in Policy.objects.all():
        policy.exempt_groups.clear()


def leave_groups(user: EndUser) -> None:
    # The group policy that refuses the caller's methods no longer applies to them.
    user.groups.clear()


# Variants whose world needs more than their root cause's usual fix.
FIXES_BY_SCENARIO: dict[str, tuple[list[Step], str, str]] = {
    "enrollment-not-enforced-exempt-group-ef": (
        [clear_exemptions, *ENROLL],
        "auto",
        "user_approved",
    ),
    "enrollment-not-enforced-method-not-allowed-ef": (
        [
            set_policy(
                "application:Payroll",
                allowed_methods=["push", "totp", "hotp_token"],
                default_method="push",
            ),
            *ENROLL,
        ],
        "auto",
        "user_approved",
    ),
    "user-locked-out-ef": ([unlock, do("scan_qr_code")], "auto", "user_approved"),
    "mfa-disabled-exempt-group-mp": ([clear_exemptions], "auto", "user_approved"),
    # Nothing to fix: the call goes to the mobile.
    "otp-channel-unavailable-voice-ef": ([], "voice", "valid_passcode"),
    # Access faults: a second fault on the same account, codes or tokens instead of pushes.
    "access-rule-denies-android-contractor": (
        [add_to_group("Engineering")],
        "auto",
        "user_approved",
    ),
    "access-rule-denies-locked-out-group": (
        [add_to_group("HR"), unlock],
        "auto",
        "user_approved",
    ),
    "fallback-disabled-app-policy-voice": (
        [set_policy("application:Payroll", allow_fallback=True)],
        "voice",
        "valid_passcode",
    ),
    "fraud-reported-and-locked": ([resolve_fraud, unlock], "auto", "user_approved"),
    "lost-device-locked-out-too": ([unlock, *REENROLL_ON_NEW_PHONE], "auto", "user_approved"),
    "lost-device-stolen-fraud": ([resolve_fraud, *REENROLL_ON_NEW_PHONE], "auto", "user_approved"),
    "lost-device-token-lost": (REENROLL_ON_NEW_PHONE, "push", "user_approved"),
    "policy-misconfiguration-locked-out": ([leave_groups], "auto", "user_approved"),
    "user-disabled-contractor-ended": (
        [set_user(status="active"), *REENROLL_ON_NEW_PHONE],
        "auto",
        "user_approved",
    ),
    "user-locked-out-group-policy": ([unlock], "auto", "valid_passcode"),
    "user-locked-out-hardware-token": ([unlock], "auto", "valid_passcode"),
    "user-locked-out-ios-codes": ([unlock], "auto", "valid_passcode"),
    # A lockout in the middle of enrollment: unlocked, then the setup is finished.
    "user-locked-out-ef-ios-new-devices": ([unlock, do("scan_qr_code")], "auto", "user_approved"),
    "user-locked-out-ef-never-enrolled": ([unlock, *ENROLL], "auto", "user_approved"),
    "user-locked-out-ef-enrolled-codes": ([unlock], "auto", "valid_passcode"),
    # Required enrollment never asked for: an open session; signing out lets the policy apply.
    "enrollment-not-enforced-open-session": (
        [do("sign_out_and_in"), *ENROLL],
        "auto",
        "user_approved",
    ),
    # Fallback off and the caller has only the approval request, which the policy refuses.
    "fallback-disabled-mp-default-totp-android": (
        [set_policy("global", allow_fallback=True)],
        "auto",
        "user_approved",
    ),
    "fallback-disabled-mp-default-voice": (
        [set_policy("application:Payroll", allow_fallback=True)],
        "auto",
        "user_approved",
    ),
    # A replacement phone, the old one not lost: the account moves to a new phone.
    "replacement-phone-old-in-hand": (REENROLL_ON_NEW_PHONE, "auto", "user_approved"),
    "replacement-phone-old-wiped": (REENROLL_ON_NEW_PHONE, "auto", "user_approved"),
    "replacement-phone-new-devices-policy": (REENROLL_ON_NEW_PHONE, "auto", "user_approved"),
}
# The same worlds for other callers.
FIXES_BY_SCENARIO.update(
    {
        "enrollment-not-enforced-another-team-1": FIXES_BY_SCENARIO[
            "enrollment-not-enforced-exempt-group-ef"
        ],
        "mfa-disabled-another-team-1": FIXES_BY_SCENARIO["mfa-disabled-exempt-group-mp"],
        "policy-misconfiguration-another-team-1": FIXES_BY_SCENARIO[
            "enrollment-not-enforced-method-not-allowed-ef"
        ],
        "enrollment-not-enforced-open-session-android": FIXES_BY_SCENARIO[
            "enrollment-not-enforced-open-session"
        ],
        "enrollment-not-enforced-open-session-new-devices": FIXES_BY_SCENARIO[
            "enrollment-not-enforced-open-session"
        ],
    }
)

SCENARIOS = [path.stem for path in bundled_scenarios()]
# The code playbooks' scenarios (-cr, -cnr) restore sign-in through their playbook's own fix
# (resync, a corrected serial, another allowed method), which the corpus test proves end to end
# through simulate_case with a verified sign-in; the generic fix per root cause below is for the
# others. Their fault is still checked here, as every scenario's is.
GENERIC_FIX_SCENARIOS = [
    name for name in SCENARIOS if not name.endswith(("-cr", "-cnr")) or name in FIXES_BY_SCENARIO
]


def test_every_root_cause_has_a_scenario_file_and_a_fix():
    covered = {read_scenario(path).expected.root_cause for path in bundled_scenarios()}
    assert sorted(set(ROOT_CAUSES) - covered) == []
    assert sorted(FIXES) == sorted(ROOT_CAUSES)


def _sign_in_reports_the_fault(scenario, user):
    expected = scenario.expected.sign_in
    first = caller.sign_in_as_end_user(
        end_user_id=user.pk, application=scenario.application, factor=expected.factor
    )
    assert (first.result, first.reason) == (expected.result, expected.reason)
    assert (get_mfa_service().auth_log(end_user_id=user.pk)[0].result, first.status) == (
        expected.result,
        "final",
    )


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - set(GENERIC_FIX_SCENARIOS)))
def test_code_playbook_scenario_reports_its_fault(name):
    scenario, user = load(name)
    _sign_in_reports_the_fault(scenario, user)


@pytest.mark.parametrize("name", GENERIC_FIX_SCENARIOS)
def test_scenario_reports_its_fault_and_the_fix_restores_sign_in(
    name, django_capture_on_commit_callbacks
):
    scenario, user = load(name)
    _sign_in_reports_the_fault(scenario, user)

    steps, factor, reason = FIXES_BY_SCENARIO.get(name) or FIXES[scenario.expected.root_cause]
    for step in steps:
        with django_capture_on_commit_callbacks(execute=True):
            step(user)
    again = caller.sign_in_as_end_user(
        end_user_id=user.pk, application=scenario.application, factor=factor
    )
    assert (again.result, again.reason) == ("success", reason)


@pytest.mark.parametrize("name", ["push-notifications-disabled", "clock-skew", "carrier-delay"])
def test_loading_the_same_file_twice_replaces_the_world(name):
    _, first = load(name)
    _, second = load(name)
    assert EndUser.objects.filter(username=first.username).count() == 1
    assert second.pk != first.pk
    assert second.devices.count() == len(read_scenario(f"authsim/scenarios/{name}.yaml").devices)
