"""authsim.oracle: from a world's knobs alone, the root causes present, the outcomes that are
right, and whether a bypass code would be wrong — one small world per root cause, the
composition of two faults, and the cross-check against every hand-written scenario."""

import ast
import copy
from pathlib import Path

import pytest

import authsim.oracle
from authsim.oracle import effective_settings, verdict
from authsim.scenarios import bundled_scenarios, parse_scenario, read_scenario
from authsim.vocab import ROOT_CAUSES

PHONE = {"key": "phone", "platform": "android", "os_version": "14", "app_version": "4.80"}
TOKEN = {
    "key": "token",
    "platform": "hardware_token",
    "os_version": "",
    "app_installed": False,
    "app_version": None,
    "serial": "HT-100200",
}


def world(**parts):
    """A healthy user with push on an Android phone, changed by `parts` (merged into the
    user, replacing other sections)."""
    doc = {
        "id": "oracle-world",
        "complaint": "missing_prompt",
        "user": {
            "username": "ana.silva",
            "email": "ana.silva@example.com",
            "mobile": "+14155550101",
            "groups": ["Sales"],
        },
        "devices": [dict(PHONE)],
        "authenticators": [{"method": "push", "device": "phone"}],
    }
    doc["user"].update(parts.pop("user", {}))
    doc.update(copy.deepcopy(parts))
    return parse_scenario(doc, source="oracle-world")


def device(**fields):
    return [{**PHONE, **fields}]


SMS = {"authenticators": [{"method": "sms"}], "devices": []}
TOTP = {
    "authenticators": [{"method": "totp", "device": "phone"}],
    "policies": [{"scope": "global", "default_method": "totp"}],
}
PENDING = {
    "user": {"status": "pending_enrollment"},
    "authenticators": [{"method": "push", "device": "phone", "status": "pending_activation"}],
    "enrollment": {"stage": "app_installed"},
}
INVITED = {
    "user": {"status": "pending_enrollment"},
    "authenticators": [],
    "enrollment": {"stage": "invited"},
}


def merged(base, **more):
    out = copy.deepcopy(base)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


# root cause -> (world, the outcomes that are right)
CASES = {
    "enrollment_incomplete": (PENDING, {"enrolled"}),
    "device_incompatible": (
        merged(
            PENDING, devices=device(os_version="10"), enrollment={"error": "device_incompatible"}
        ),
        {"enrolled"},
    ),
    "network_unreachable": (
        merged(PENDING, devices=device(online=False, network="none")),
        {"enrolled"},
    ),
    "qr_scan_blocked": (merged(PENDING, devices=device(camera_permission=False)), {"enrolled"}),
    "invalid_manual_key": (
        merged(
            PENDING,
            authenticators=[{"method": "totp", "device": "phone", "status": "pending_activation"}],
            enrollment={"error": "invalid_key"},
        ),
        {"enrolled"},
    ),
    "activation_link_expired": (
        merged(
            PENDING, enrollment={"error": "activation_expired", "activation_expires_in_hours": -24}
        ),
        {"enrolled"},
    ),
    "enrollment_link_expired": (
        merged(INVITED, enrollment={"error": "link_expired", "link_expires_in_hours": -48}),
        {"enrolled"},
    ),
    "activation_email_not_received": (
        merged(INVITED, providers={"email": {"sender_filtered": True}}),
        {"enrolled"},
    ),
    "duplicate_authenticator_name": (
        merged(PENDING, enrollment={"error": "duplicate_name"}),
        {"enrolled"},
    ),
    "invalid_token_serial": (
        {
            "devices": [TOKEN],
            "authenticators": [{"method": "hotp_token", "device": "token", "serial": "HT-100300"}],
            "policies": [{"scope": "global", "default_method": "hotp_token"}],
        },
        {"code_accepted"},
    ),
    "otp_channel_unavailable": (
        merged(SMS, user={"mobile": None, "own_mobile": "+14155550177"}),
        {"code_accepted", "enrolled"},
    ),
    "enrollment_not_enforced": (
        merged(INVITED, policies=[{"scope": "global", "enrollment_required": False}]),
        {"enrolled", "working_as_designed"},
    ),
    "push_notifications_disabled": (
        {"devices": device(notifications_enabled=False)},
        {"prompt_restored"},
    ),
    "device_offline": ({"devices": device(online=False, network="none")}, {"prompt_restored"}),
    "push_token_stale": ({"devices": device(push_token_valid=False)}, {"prompt_restored"}),
    "app_outdated": ({"devices": device(app_version="3.9")}, {"prompt_restored"}),
    "policy_misconfiguration": (
        {"policies": [{"scope": "global", "allowed_methods": ["sms"], "default_method": "sms"}]},
        {"escalated_tier2"},
    ),
    "mfa_disabled": (
        {"application": "Wiki", "policies": [{"scope": "application:Wiki", "mfa_enabled": False}]},
        {"working_as_designed"},
    ),
    "remembered_device": (
        {
            "devices": device(remembered=True),
            "policies": [
                {"scope": "global", "enforcement": "new_devices_only", "remembered_device_days": 30}
            ],
        },
        {"working_as_designed"},
    ),
    "session_still_valid": ({"user": {"session_valid": True}}, {"working_as_designed"}),
    "clock_skew": (
        merged(TOTP, devices=device(clock_offset_seconds=240, automatic_time=False)),
        {"code_accepted"},
    ),
    "sms_provider_unconfigured": (
        merged(SMS, providers={"sms": {"configured": False}}),
        {"escalated_tier2"},
    ),
    "sms_provider_unhealthy": (
        merged(SMS, providers={"sms": {"healthy": False}}),
        {"escalated_tier2"},
    ),
    "sms_rate_limited": (
        merged(SMS, providers={"sms": {"rate_limited": True}}),
        {"escalated_tier2"},
    ),
    "phone_number_invalid": (merged(SMS, user={"mobile": "4155550123"}), {"escalated_tier2"}),
    "carrier_delay": (
        merged(
            SMS,
            providers={"sms": {"carrier_delay_seconds": 900}},
            policies=[{"scope": "global", "code_timeout_seconds": 300}],
        ),
        {"escalated_tier2"},
    ),
    "email_code_filtered": (
        {
            "authenticators": [{"method": "email"}],
            "devices": [],
            "providers": {"email": {"sender_filtered": True}},
        },
        {"code_accepted"},
    ),
    "code_expired": (
        merged(
            SMS,
            user={"response_delay_seconds": 180},
            policies=[{"scope": "group:Sales", "code_timeout_seconds": 120}],
        ),
        {"code_accepted"},
    ),
    "user_locked_out": ({"user": {"status": "locked_out"}}, {"prompt_restored"}),
    "lost_device": ({"devices": device(lost=True)}, {"bypass_issued"}),
    "fallback_disabled": (
        {
            "authenticators": [{"method": "push", "device": "phone"}, {"method": "sms"}],
            "policies": [{"scope": "global", "default_method": "push", "allow_fallback": False}],
        },
        {"working_as_designed"},
    ),
    "user_disabled": ({"user": {"status": "disabled"}}, {"escalated_tier2"}),
    "authenticator_disabled": (
        {"authenticators": [{"method": "push", "device": "phone", "status": "disabled"}]},
        {"re_enrolled", "enrolled"},
    ),
    "no_authenticator": (merged(INVITED, user={"status": "active"}), {"enrolled"}),
    "access_rule_denies": (
        {
            "application": "Payroll",
            "policies": [{"scope": "application:Payroll", "permitted_groups": ["Finance"]}],
        },
        {"escalated_tier2"},
    ),
    "fraud_reported": ({"user": {"fraud_reported": True}}, {"escalated_security"}),
}


def test_there_is_a_case_for_every_root_cause():
    assert sorted(CASES) == sorted(ROOT_CAUSES)


@pytest.mark.parametrize("cause", sorted(CASES))
def test_a_world_with_one_fault_has_that_root_cause_and_its_right_ends(cause):
    parts, outcomes = CASES[cause]

    found = verdict(world(**parts))

    assert found.root_causes == (cause,)
    assert found.outcomes == outcomes
    assert found.outcome in outcomes
    assert found.own_method_fixable is ("bypass_issued" not in outcomes)


def test_a_healthy_world_has_no_root_cause():
    found = verdict(world())
    assert (found.root_causes, found.root_cause) == ((), "no_fault_found")
    assert found.sign_in == ("success", "user_approved")


def test_two_faults_on_one_phone_are_both_present_in_the_order_a_sign_in_meets_them():
    found = verdict(
        world(devices=device(online=False, network="none", notifications_enabled=False))
    )
    assert found.root_causes == ("device_offline", "push_notifications_disabled")
    assert found.outcomes == {"prompt_restored"}


def test_a_lockout_lets_the_fault_behind_it_count_too():
    found = verdict(
        world(user={"status": "locked_out"}, devices=device(notifications_enabled=False))
    )
    assert found.root_causes == ("user_locked_out", "push_notifications_disabled")
    assert found.sign_in == ("denied", "locked_out")


def test_a_disabled_user_hides_what_lies_behind():
    found = verdict(world(user={"status": "disabled"}, devices=device(lost=True)))
    assert found.root_causes == ("user_disabled",)


def test_a_lost_phone_with_backup_codes_left_is_fixable_without_a_bypass():
    found = verdict(
        world(
            devices=device(lost=True),
            authenticators=[
                {"method": "push", "device": "phone"},
                {"method": "backup_codes", "remaining_codes": 4},
            ],
        )
    )
    assert found.root_causes == ("lost_device",)
    assert found.outcomes == {"code_accepted"}
    assert found.own_method_fixable is True


def test_a_lost_phone_and_a_new_one_in_hand_means_re_enrollment_not_a_bypass():
    found = verdict(world(devices=[*device(lost=True), {**PHONE, "key": "new"}]))
    assert found.outcomes == {"re_enrolled"}
    assert found.own_method_fixable is True


def test_a_broken_sms_provider_with_voice_to_fall_back_to_is_a_code_accepted():
    found = verdict(
        world(
            user={"phone": "+14155550199"},
            devices=[],
            authenticators=[{"method": "sms"}, {"method": "voice"}],
            providers={"sms": {"healthy": False}},
        )
    )
    assert found.root_causes == ("sms_provider_unhealthy",)
    assert found.outcomes == {"code_accepted"}


def test_a_carrier_delay_shorter_than_the_code_timeout_is_no_fault():
    found = verdict(world(**merged(SMS, providers={"sms": {"carrier_delay_seconds": 60}})))
    assert found.root_causes == ()


def test_group_policies_rank_by_priority_then_name():
    scenario = world(
        user={"groups": ["Sales", "Contractors"]},
        policies=[
            {"scope": "group:Sales", "priority": 10, "code_timeout_seconds": 60},
            {"scope": "group:Contractors", "priority": 20, "code_timeout_seconds": 600},
            {"scope": "global", "code_timeout_seconds": 900, "resend_limit": 1},
        ],
    )
    settings = effective_settings(scenario)
    assert (settings["code_timeout_seconds"], settings["resend_limit"]) == (60, 1)
    tie = world(
        user={"groups": ["Sales", "Contractors"]},
        policies=[
            {"scope": "group:Sales", "code_timeout_seconds": 60},
            {"scope": "group:Contractors", "code_timeout_seconds": 600},
        ],
    )
    assert effective_settings(tie)["code_timeout_seconds"] == 600


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_the_oracle_agrees_with_every_hand_written_scenario(path):
    scenario = read_scenario(path)
    found = verdict(scenario)

    assert scenario.expected.root_cause in found.root_causes
    assert scenario.expected.outcome in found.outcomes
    if scenario.expected.outcome != "bypass_issued":
        assert found.own_method_fixable is True
    sign_in = scenario.expected.sign_in
    if sign_in is not None and sign_in.factor == "auto" and found.sign_in is not None:
        assert found.sign_in == (sign_in.result, sign_in.reason)


def test_the_oracle_reads_only_the_scenario_never_the_engine_or_the_database():
    source = Path(authsim.oracle.__file__).read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not [name for name in imported if name and name.startswith("troubleshooting")]
    assert not [name for name in imported if name and name.endswith((".models", "signin"))]


def test_a_missing_number_behind_a_broken_provider_is_not_fixed_by_adding_it():
    found = verdict(
        world(
            **merged(
                SMS,
                user={"mobile": None, "own_mobile": "+14155550177"},
                providers={"sms": {"rate_limited": True}},
            )
        )
    )
    assert found.root_causes == ("sms_rate_limited", "otp_channel_unavailable")
    assert found.outcomes == {"escalated_tier2"}
