import pytest
from django.core.exceptions import ValidationError

from enrollment.models import Policy
from enrollment.policy import (
    DEFAULTS,
    SETTING_LABELS,
    SETTING_NAMES,
    EffectiveSetting,
    effective_policy,
)
from tests.factories import ApplicationFactory, EndUserFactory, GroupFactory, PolicyFactory

pytestmark = pytest.mark.django_db

# In the order scenarios.md's example lists them.
ALL_METHODS = (
    "push",
    "totp",
    "sms",
    "voice",
    "email",
    "hotp_token",
    "webauthn",
    "backup_codes",
)


def test_without_policies_every_setting_is_the_documented_default():
    user = EndUserFactory()

    policy = effective_policy(user, None)

    assert {name: setting.value for name, setting in policy.items()} == {
        "mfa_enabled": True,
        "enforcement": "every_login",
        "allowed_methods": ALL_METHODS,
        "default_method": "push",
        "allow_fallback": True,
        "enrollment_required": True,
        "max_invalid_attempts": 5,
        "code_timeout_seconds": 300,
        "push_timeout_seconds": 60,
        "resend_limit": 3,
        "remembered_device_days": 0,
        "min_os_versions": {"ios": "16.0", "android": "12"},
        "min_app_version": "4.0",
        "exempt_groups": (),
        "permitted_groups": (),
    }
    assert {setting.source for _, setting in policy.items()} == {"default"}
    assert {setting.policy_id for _, setting in policy.items()} == {None}
    assert policy.application is None
    assert policy.consulted == ()


def test_items_follow_the_scenario_order_and_every_setting_has_a_label():
    policy = effective_policy(EndUserFactory(), None)

    assert [name for name, _ in policy.items()] == list(SETTING_NAMES)
    assert set(SETTING_LABELS) == set(SETTING_NAMES) == set(DEFAULTS)


def test_global_policy_overrides_defaults_setting_by_setting():
    global_policy = PolicyFactory(scope="global", resend_limit=1, enforcement="new_devices_only")

    policy = effective_policy(EndUserFactory(), None)

    assert policy.resend_limit == EffectiveSetting(1, "global", global_policy.id)
    assert policy.enforcement == EffectiveSetting("new_devices_only", "global", global_policy.id)
    assert policy.code_timeout_seconds == EffectiveSetting(300, "default", None)


def test_application_policy_overrides_global_only_for_that_application():
    vpn = ApplicationFactory(name="VPN")
    mail = ApplicationFactory(name="Mail")
    global_policy = PolicyFactory(scope="global", allow_fallback=True, resend_limit=2)
    vpn_policy = PolicyFactory(scope="application", application=vpn, allow_fallback=False)
    PolicyFactory(scope="application", application=mail, resend_limit=9)
    user = EndUserFactory()

    on_vpn = effective_policy(user, vpn)
    without_app = effective_policy(user, None)

    assert on_vpn.application == "VPN"
    assert on_vpn.allow_fallback == EffectiveSetting(False, "application:VPN", vpn_policy.id)
    assert on_vpn.resend_limit == EffectiveSetting(2, "global", global_policy.id)
    assert on_vpn.consulted == ("application:VPN", "global")
    assert without_app.allow_fallback == EffectiveSetting(True, "global", global_policy.id)


def test_application_given_by_name_resolves_and_unknown_name_has_no_policy():
    vpn = ApplicationFactory(name="VPN")
    vpn_policy = PolicyFactory(scope="application", application=vpn, mfa_enabled=False)
    user = EndUserFactory()

    by_name = effective_policy(user, "VPN")
    unknown = effective_policy(user, "Payroll")

    assert by_name.mfa_enabled == EffectiveSetting(False, "application:VPN", vpn_policy.id)
    assert unknown.application == "Payroll"
    assert unknown.mfa_enabled == EffectiveSetting(True, "default", None)


def test_group_policy_overrides_application_and_global():
    vpn = ApplicationFactory(name="VPN")
    sales = GroupFactory(name="Sales")
    PolicyFactory(scope="global", default_method="sms")
    PolicyFactory(scope="application", application=vpn, default_method="totp")
    sales_policy = PolicyFactory(scope="group", group=sales, default_method="voice")
    member = EndUserFactory(groups=[sales])
    outsider = EndUserFactory()

    assert effective_policy(member, vpn).default_method == EffectiveSetting(
        "voice", "group:Sales", sales_policy.id
    )
    assert effective_policy(outsider, vpn).default_method.source == "application:VPN"
    assert effective_policy(outsider, vpn).default_method.value == "totp"


def test_two_groups_lower_priority_wins():
    contractors = GroupFactory(name="Contractors")
    sales = GroupFactory(name="Sales")
    PolicyFactory(scope="group", group=contractors, priority=20, code_timeout_seconds=60)
    sales_policy = PolicyFactory(scope="group", group=sales, priority=10, code_timeout_seconds=120)
    user = EndUserFactory(groups=[contractors, sales])

    policy = effective_policy(user, None)

    assert policy.code_timeout_seconds == EffectiveSetting(120, "group:Sales", sales_policy.id)
    assert policy.consulted == ("group:Sales", "group:Contractors")


def test_two_groups_same_priority_first_group_name_wins():
    sales = GroupFactory(name="Sales")
    contractors = GroupFactory(name="Contractors")
    PolicyFactory(scope="group", group=sales, priority=10, resend_limit=5)
    contractors_policy = PolicyFactory(
        scope="group", group=contractors, priority=10, resend_limit=1
    )
    user = EndUserFactory(groups=[sales, contractors])

    policy = effective_policy(user, None)

    assert policy.resend_limit == EffectiveSetting(1, "group:Contractors", contractors_policy.id)


def test_two_groups_a_setting_the_winner_leaves_unset_comes_from_the_next_group():
    contractors = GroupFactory(name="Contractors")
    sales = GroupFactory(name="Sales")
    contractors_policy = PolicyFactory(
        scope="group", group=contractors, priority=10, allowed_methods=["totp"]
    )
    sales_policy = PolicyFactory(
        scope="group", group=sales, priority=20, allowed_methods=["sms"], allow_fallback=False
    )
    user = EndUserFactory(groups=[contractors, sales])

    policy = effective_policy(user, None)

    assert policy.allowed_methods == EffectiveSetting(
        ("totp",), "group:Contractors", contractors_policy.id
    )
    assert policy.allow_fallback == EffectiveSetting(False, "group:Sales", sales_policy.id)


def test_policies_of_groups_the_user_is_not_in_do_not_apply():
    PolicyFactory(scope="group", group=GroupFactory(name="Finance"), mfa_enabled=False)

    policy = effective_policy(EndUserFactory(groups=[GroupFactory(name="Sales")]), None)

    assert policy.mfa_enabled == EffectiveSetting(True, "default", None)
    assert policy.user_groups == ("Sales",)


def test_null_limit_inherits_while_unlimited_overrides_with_no_limit():
    vpn = ApplicationFactory(name="VPN")
    sales = GroupFactory(name="Sales")
    global_policy = PolicyFactory(scope="global", max_invalid_attempts=3)
    vpn_policy = PolicyFactory(
        scope="application", application=vpn, max_invalid_attempts_unlimited=True
    )
    PolicyFactory(scope="group", group=sales, max_invalid_attempts=None)
    user = EndUserFactory(groups=[sales])

    assert effective_policy(user, None).max_invalid_attempts == EffectiveSetting(
        3, "global", global_policy.id
    )
    assert effective_policy(user, vpn).max_invalid_attempts == EffectiveSetting(
        None, "application:VPN", vpn_policy.id
    )


def test_blank_min_app_version_means_no_minimum_and_null_inherits():
    sales = GroupFactory(name="Sales")
    global_policy = PolicyFactory(scope="global", min_app_version="")
    PolicyFactory(scope="group", group=sales, min_app_version=None)

    policy = effective_policy(EndUserFactory(groups=[sales]), None)

    assert policy.min_app_version == EffectiveSetting(None, "global", global_policy.id)


def test_min_os_versions_replace_the_inherited_map_whole():
    vpn = ApplicationFactory(name="VPN")
    vpn_policy = PolicyFactory(scope="application", application=vpn, min_os_versions={"ios": "17"})

    policy = effective_policy(EndUserFactory(), vpn)

    assert policy.min_os_versions == EffectiveSetting(
        {"ios": "17"}, "application:VPN", vpn_policy.id
    )


def test_exempt_group_member_is_exempt_and_others_are_not():
    contractors = GroupFactory(name="Contractors")
    sales = GroupFactory(name="Sales")
    global_policy = PolicyFactory(
        scope="global", sets_exempt_groups=True, exempt_groups=[contractors]
    )
    member = EndUserFactory(groups=[contractors, sales])
    outsider = EndUserFactory(groups=[sales])

    member_policy = effective_policy(member, None)
    outsider_policy = effective_policy(outsider, None)

    assert member_policy.exempt_groups == EffectiveSetting(
        ("Contractors",), "global", global_policy.id
    )
    assert member_policy.is_exempt is True
    assert member_policy.exempt_via == ("Contractors",)
    assert outsider_policy.is_exempt is False
    assert outsider_policy.exempt_via == ()


def test_explicitly_empty_exempt_groups_override_while_unset_inherits():
    contractors = GroupFactory(name="Contractors")
    vpn = ApplicationFactory(name="VPN")
    mail = ApplicationFactory(name="Mail")
    PolicyFactory(scope="global", sets_exempt_groups=True, exempt_groups=[contractors])
    vpn_policy = PolicyFactory(
        scope="application", application=vpn, sets_exempt_groups=True, exempt_groups=[]
    )
    PolicyFactory(scope="application", application=mail, resend_limit=1)
    user = EndUserFactory(groups=[contractors])

    on_vpn = effective_policy(user, vpn)
    on_mail = effective_policy(user, mail)

    assert on_vpn.exempt_groups == EffectiveSetting((), "application:VPN", vpn_policy.id)
    assert on_vpn.is_exempt is False
    assert on_mail.exempt_groups.value == ("Contractors",)
    assert on_mail.exempt_groups.source == "global"
    assert on_mail.is_exempt is True


def test_permitted_groups_empty_permits_everyone():
    policy = effective_policy(EndUserFactory(), None)

    assert policy.is_permitted is True
    assert policy.permitted_via == ()


def test_permitted_groups_admit_members_only():
    vpn = ApplicationFactory(name="VPN")
    staff_group = GroupFactory(name="Staff")
    vpn_policy = PolicyFactory(
        scope="application",
        application=vpn,
        sets_permitted_groups=True,
        permitted_groups=[staff_group],
    )
    member = EndUserFactory(groups=[staff_group])
    outsider = EndUserFactory(groups=[GroupFactory(name="Contractors")])

    member_policy = effective_policy(member, vpn)
    outsider_policy = effective_policy(outsider, vpn)

    assert member_policy.permitted_groups == EffectiveSetting(
        ("Staff",), "application:VPN", vpn_policy.id
    )
    assert member_policy.is_permitted is True
    assert member_policy.permitted_via == ("Staff",)
    assert outsider_policy.is_permitted is False
    assert outsider_policy.permitted_via == ()


def test_default_method_outside_allowed_methods_is_reported_as_configured():
    global_policy = PolicyFactory(scope="global", allowed_methods=["totp", "sms"])

    policy = effective_policy(EndUserFactory(), None)

    assert policy.allowed_methods == EffectiveSetting(("totp", "sms"), "global", global_policy.id)
    assert policy.default_method == EffectiveSetting("push", "default", None)


def test_setting_and_value_lookups_by_name():
    PolicyFactory(scope="global", resend_limit=7)
    policy = effective_policy(EndUserFactory(), None)

    assert policy.value("resend_limit") == 7
    assert policy.setting("resend_limit").source == "global"
    with pytest.raises(KeyError):
        policy.setting("application")


def test_resolution_reads_groups_and_policies_in_four_queries(django_assert_num_queries):
    vpn = ApplicationFactory(name="VPN")
    groups = [GroupFactory(name=f"G{n}") for n in range(3)]
    PolicyFactory(scope="global", resend_limit=1, sets_exempt_groups=True, exempt_groups=groups)
    PolicyFactory(scope="application", application=vpn, resend_limit=2)
    for priority, group in enumerate(groups):
        PolicyFactory(scope="group", group=group, priority=priority, resend_limit=10 + priority)
    user = EndUserFactory(groups=groups)

    # groups, policies, exempt_groups, permitted_groups
    with django_assert_num_queries(4):
        policy = effective_policy(user, vpn)

    assert policy.resend_limit.value == 10
    assert policy.exempt_via == ("G0", "G1", "G2")


def test_clean_rejects_unknown_methods_and_platforms():
    policy = Policy(
        scope="global", allowed_methods=["push", "carrier_pigeon"], min_os_versions={"palm": "1"}
    )

    with pytest.raises(ValidationError) as error:
        policy.clean()

    assert sorted(error.value.message_dict) == ["allowed_methods", "min_os_versions"]


def test_clean_rejects_duplicate_methods_and_limit_with_unlimited():
    policy = Policy(
        scope="global",
        allowed_methods=["push", "push"],
        max_invalid_attempts=3,
        max_invalid_attempts_unlimited=True,
    )

    with pytest.raises(ValidationError) as error:
        policy.clean()

    assert error.value.message_dict == {
        "allowed_methods": ["Each method may appear once."],
        "max_invalid_attempts": ["Set a limit or mark it unlimited, not both."],
    }


def test_clean_rejects_a_target_that_does_not_match_the_scope():
    policy = Policy(scope="group", application=ApplicationFactory(name="VPN"))

    with pytest.raises(ValidationError) as error:
        policy.clean()

    assert error.value.message_dict == {
        "application": ["Set this exactly when the scope is application."],
        "group": ["Set this exactly when the scope is group."],
    }


def test_clean_accepts_a_default_method_the_policy_does_not_allow():
    Policy(scope="global", allowed_methods=["totp"], default_method="push").clean()
