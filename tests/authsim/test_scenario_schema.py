from pathlib import Path

import pytest
import yaml

from authsim.scenarios import ScenarioError, parse_scenario, read_scenario

MINIMAL = {"id": "minimal-user", "complaint": "missing_prompt", "user": {"username": "dana.lee"}}

# The example of scenarios.md, verbatim: a file written against the contract must load.
DOC_EXAMPLE = """
id: ios-notifications-off          # unique, kebab-case
complaint: missing_prompt
description: Phone never shows the approval request.
application: VPN

user:
  username: dana.lee
  full_name: Dana Lee
  email: dana.lee@example.com
  mobile: "+14155550123"
  phone: "+14155550100"
  status: active
  groups: [Sales]
  privileged: false
  fraud_reported: false
  session_valid: false

devices:
  - key: phone
    platform: ios
    os_version: "17.4"
    app_installed: true
    app_version: "4.80"
    online: true
    network: wifi
    notifications_enabled: true
    camera_permission: true
    clock_offset_seconds: 0
    automatic_time: true
    push_token_valid: true
    remembered: false
    lost: false

authenticators:
  - method: push
    device: phone
    status: active
    name: Dana's iPhone
    serial: null
    failure_count: 0
    remaining_codes: null

enrollment:
  stage: verified
  error: null
  link_expires_in_hours: 720
  activation_expires_in_hours: 24

policies:
  - scope: global
    mfa_enabled: true
    enforcement: every_login
    allowed_methods: [push, totp, sms, voice, email, hotp_token, webauthn, backup_codes]
    default_method: push
    allow_fallback: true
    enrollment_required: true
    max_invalid_attempts: 5
    code_timeout_seconds: 300
    resend_limit: 3
    remembered_device_days: 0
    min_os_versions: {ios: "16.0", android: "12"}
    min_app_version: "4.0"
    exempt_groups: []
    permitted_groups: []

providers:
  sms: {configured: true, healthy: true, rate_limited: false, carrier_delay_seconds: 0}
  email: {healthy: true, sender_filtered: false}
  voice: {healthy: true}

expected:
  root_cause: push_notifications_disabled
  outcome: prompt_restored
"""


def _error(data: dict) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="case.yaml")
    return str(caught.value)


def test_scenarios_md_example_loads(tmp_path: Path):
    path = tmp_path / "example.yaml"
    path.write_text(DOC_EXAMPLE)
    scenario = read_scenario(path)
    assert scenario.id == "ios-notifications-off"
    assert scenario.policies[0].settings()["min_os_versions"] == {"ios": "16.0", "android": "12"}
    assert scenario.expected.root_cause == "push_notifications_disabled"


def test_minimal_file_defaults_to_a_healthy_enrolled_push_user():
    scenario = parse_scenario(MINIMAL, source="case.yaml")
    assert [(d.key, d.platform, d.online) for d in scenario.devices] == [("phone", "ios", True)]
    assert [(a.method, a.device, a.status) for a in scenario.resolved_authenticators()] == [
        ("push", "phone", "active")
    ]
    assert scenario.enrollment.stage == "verified"
    assert scenario.policies == []


def test_explicit_empty_authenticators_means_none():
    scenario = parse_scenario({**MINIMAL, "authenticators": []}, source="case.yaml")
    assert scenario.resolved_authenticators() == []


def test_policy_settings_tell_null_limit_from_absent():
    scenario = parse_scenario(
        {**MINIMAL, "policies": [{"scope": "global", "max_invalid_attempts": None}]},
        source="case.yaml",
    )
    assert scenario.policies[0].settings() == {"max_invalid_attempts": None}
    absent = parse_scenario({**MINIMAL, "policies": [{"scope": "global"}]}, source="case.yaml")
    assert absent.policies[0].settings() == {}


def test_whole_number_versions_are_read_as_strings():
    scenario = parse_scenario(
        {**MINIMAL, "devices": [{"key": "p", "platform": "android", "os_version": 12}]},
        source="case.yaml",
    )
    assert scenario.devices[0].os_version == "12"


def test_unknown_top_level_key_is_rejected_with_file_key_and_expected():
    assert _error({**MINIMAL, "colour": "red"}) == (
        "case.yaml: colour: no such key; expected one of id, complaint, description, "
        "application, user, devices, authenticators, enrollment, policies, providers, expected"
    )


def test_unknown_nested_key_names_its_path():
    message = _error({**MINIMAL, "providers": {"sms": {"healthy": True, "slow": True}}})
    assert message == (
        "case.yaml: providers.sms.slow: no such key; expected one of configured, healthy, "
        "rate_limited, carrier_delay_seconds"
    )


def test_bad_vocabulary_value_lists_the_choices():
    message = _error({**MINIMAL, "devices": [{"key": "p", "platform": "nokia"}]})
    assert message == (
        "case.yaml: devices[0].platform: expected one of 'ios', 'android', 'landline', "
        "'hardware_token', 'security_key' or 'desktop'"
    )


def test_string_for_a_boolean_is_rejected():
    assert _error({**MINIMAL, "user": {"username": "x", "privileged": "yes"}}) == (
        "case.yaml: user.privileged: expected true or false"
    )


def test_float_version_is_rejected_as_ambiguous():
    assert _error({**MINIMAL, "devices": [{"key": "p", "os_version": 17.10}]}) == (
        "case.yaml: devices[0].os_version: expected a string (quote it)"
    )


def test_unquoted_phone_number_is_rejected():
    assert _error({**MINIMAL, "user": {"username": "x", "mobile": 14155550123}}) == (
        "case.yaml: user.mobile: expected a string (quote it)"
    )


def test_missing_required_keys_are_named():
    assert _error({"id": "x"}) == (
        "case.yaml: complaint: missing; expected this required key\n"
        "case.yaml: user: missing; expected this required key"
    )


def test_id_must_be_kebab_case():
    assert _error({**MINIMAL, "id": "Dana_Lee"}) == (
        "case.yaml: id: expected a kebab-case id like ios-notifications-off"
    )


def test_policy_scope_must_name_its_kind():
    assert _error({**MINIMAL, "policies": [{"scope": "team:Sales"}]}) == (
        "case.yaml: policies[0].scope: expected global, application:<name> or group:<name>"
    )


def test_repeated_policy_scope_is_rejected():
    message = _error({**MINIMAL, "policies": [{"scope": "global"}, {"scope": "global"}]})
    assert message == "case.yaml: policies[1].scope: expected each scope at most once"


def test_authenticator_must_reference_a_listed_device():
    message = _error({**MINIMAL, "authenticators": [{"method": "push", "device": "tablet"}]})
    assert message == (
        "case.yaml: authenticators[0].device: expected the key of a device listed under "
        "devices (phone)"
    )


def test_repeated_device_key_is_rejected():
    message = _error({**MINIMAL, "devices": [{"key": "p"}, {"key": "p"}]})
    assert message == "case.yaml: devices[1].key: expected a unique device key ('p' repeats)"


def test_negative_limit_is_rejected():
    message = _error({**MINIMAL, "policies": [{"scope": "global", "max_invalid_attempts": 0}]})
    assert message == "case.yaml: policies[0].max_invalid_attempts: expected a number >= 1"


def test_unknown_root_cause_in_expected_is_rejected():
    message = _error({**MINIMAL, "expected": {"root_cause": "gremlins"}})
    assert message.startswith(
        "case.yaml: expected.root_cause: expected one of 'enrollment_incomplete'"
    )


def test_top_level_list_is_rejected():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario([1, 2], source="case.yaml")
    assert str(caught.value) == "case.yaml: (top level): expected a mapping of keys to values"


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nuser: {username: [\n")
    with pytest.raises(ScenarioError) as caught:
        read_scenario(path)
    assert str(caught.value).startswith(f"{path}: line 3, column 1: expected valid YAML")


def test_yaml_is_loaded_safely(tmp_path: Path):
    path = tmp_path / "unsafe.yaml"
    path.write_text("id: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ScenarioError) as caught:
        read_scenario(path)
    assert "expected valid YAML" in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as caught:
        read_scenario(path)
    assert str(caught.value) == f"{path}: cannot read the file (No such file or directory)"


def test_the_example_in_the_shipped_contract_loads():
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    scenario = parse_scenario(yaml.safe_load(example), source="docs/scenarios.md")
    assert scenario.id == "ios-notifications-off"
    for key in ("expected.root_causes", "expected.outcomes", "expected.own_method_fixable"):
        assert f"`{key}`" in text
