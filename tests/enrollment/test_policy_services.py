"""Policy services: validation per field, audit events with old and new values, deletion
rules, and that a saved policy is what the next sign-in follows."""

from dataclasses import replace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from enrollment.mfa import get_mfa_service
from enrollment.models import Policy
from enrollment.services.policy import (
    PolicyInput,
    policy_cost_advisories,
    policy_create,
    policy_delete,
    policy_inherited,
    policy_resolved,
    policy_update,
)
from helpdesk.models import TicketEvent
from helpdesk.services.audit import audit_chain_verify
from tests.authsim.factories import world
from tests.factories import ApplicationFactory, GroupFactory, PolicyFactory

pytestmark = pytest.mark.django_db


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def _policy_events():
    return list(TicketEvent.objects.filter(kind="admin.policy_changed").order_by("seq"))


def test_create_application_policy_records_every_setting_it_sets(administrator):
    vpn = ApplicationFactory(name="VPN")

    saved = policy_create(
        actor=administrator,
        scope="application",
        application=vpn,
        data=PolicyInput(allowed_methods=["push", "totp"], default_method="totp", resend_limit=2),
    )

    assert saved.policy.source_label == "application:VPN"
    (event,) = _policy_events()
    assert (event.stream, event.actor_id) == ("admin", administrator.pk)
    assert event.payload == {
        "action": "created",
        "policy_id": saved.policy.pk,
        "policy": "application:VPN",
        "by": administrator.username,
        "changes": {
            "allowed_methods": {"old": None, "new": ["push", "totp"]},
            "default_method": {"old": None, "new": "totp"},
            "resend_limit": {"old": None, "new": 2},
        },
    }
    assert audit_chain_verify().ok


def test_update_records_old_and_new_values_of_changed_settings_only(administrator):
    policy = PolicyFactory(scope="global", resend_limit=3, code_timeout_seconds=300)

    saved = policy_update(
        actor=administrator,
        policy=policy,
        data=PolicyInput(resend_limit=5, code_timeout_seconds=300, mfa_enabled=False),
    )

    assert saved.changes == {
        "resend_limit": {"old": 3, "new": 5},
        "mfa_enabled": {"old": None, "new": False},
    }
    (event,) = _policy_events()
    assert event.payload["changes"] == {
        "mfa_enabled": {"old": None, "new": False},
        "resend_limit": {"old": 3, "new": 5},
    }
    policy.refresh_from_db()
    assert (policy.resend_limit, policy.mfa_enabled) == (5, False)


def test_update_that_changes_nothing_writes_no_event(administrator):
    group = GroupFactory(name="Kiosk")
    policy = PolicyFactory(scope="global", resend_limit=3, exempt_groups=[group])
    policy.sets_exempt_groups = True
    policy.save()

    saved = policy_update(
        actor=administrator,
        policy=policy,
        data=PolicyInput(resend_limit=3, exempt_groups=[group]),
    )

    assert (saved.changed, _policy_events()) == (False, [])


def test_group_sets_are_recorded_by_name(administrator):
    sales, kiosk = GroupFactory(name="Sales"), GroupFactory(name="Kiosk")
    policy = PolicyFactory(scope="global")

    saved = policy_update(
        actor=administrator,
        policy=policy,
        data=PolicyInput(exempt_groups=[kiosk], permitted_groups=[]),
    )

    assert saved.changes == {
        "exempt_groups": {"old": None, "new": ["Kiosk"]},
        "permitted_groups": {"old": None, "new": []},
    }
    assert sales.pk  # unused group stays out of the record


def test_default_method_must_be_allowed(administrator):
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(allowed_methods=["push", "totp"], default_method="sms"),
        )
    assert list(_errors(excinfo)) == ["default_method"]
    assert "SMS passcode" in _errors(excinfo)["default_method"][0]
    assert Policy.objects.count() == 0


def test_removing_the_inherited_default_from_allowed_methods_is_refused(administrator):
    # The default (push) is inherited from the built-in defaults.
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator, scope="global", data=PolicyInput(allowed_methods=["totp", "sms"])
        )
    assert list(_errors(excinfo)) == ["allowed_methods"]
    assert "from default" in _errors(excinfo)["allowed_methods"][0]


def test_fallback_with_a_single_allowed_method_is_refused(administrator):
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(allowed_methods=["push"], allow_fallback=True),
        )
    assert list(_errors(excinfo)) == ["allow_fallback"]
    assert "nothing to fall back to" in _errors(excinfo)["allow_fallback"][0]


def test_single_method_without_fallback_is_accepted(administrator):
    saved = policy_create(
        actor=administrator,
        scope="global",
        data=PolicyInput(allowed_methods=["push"], allow_fallback=False),
    )
    assert saved.policy.allowed_methods == ["push"]


def test_application_policy_is_checked_against_the_global_policy(administrator):
    PolicyFactory(scope="global", allowed_methods=["push", "totp"], default_method="push")
    app = ApplicationFactory(name="Mail")

    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="application",
            application=app,
            data=PolicyInput(default_method="email"),
        )
    assert "from global" in _errors(excinfo)["default_method"][0]


def test_versions_must_be_dotted_numbers(administrator):
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(min_app_version="4.x", min_os_versions={"ios": "sixteen"}),
        )
    assert sorted(_errors(excinfo)) == ["min_app_version", "min_os_ios"]


def test_negative_and_out_of_range_numbers_are_refused(administrator):
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(resend_limit=-1, code_timeout_seconds=0, remembered_device_days=999),
        )
    assert _errors(excinfo) == {
        "code_timeout_seconds": ["Must be at least 1."],
        "remembered_device_days": ["Must be at most 365."],
        "resend_limit": ["Cannot be negative."],
    }


def test_a_group_cannot_be_both_exempt_and_permitted(administrator):
    kiosk = GroupFactory(name="Kiosk")
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(exempt_groups=[kiosk], permitted_groups=[kiosk]),
        )
    assert list(_errors(excinfo)) == ["exempt_groups"]


def test_inherited_permitted_group_counts_against_a_new_exemption(administrator):
    kiosk = GroupFactory(name="Kiosk")
    PolicyFactory(scope="global", sets_permitted_groups=True, permitted_groups=[kiosk])
    app = ApplicationFactory(name="Kiosk app")
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="application",
            application=app,
            data=PolicyInput(exempt_groups=[kiosk]),
        )
    assert list(_errors(excinfo)) == ["exempt_groups"]


def test_limit_and_no_limit_together_are_refused(administrator):
    with pytest.raises(ValidationError) as excinfo:
        policy_create(
            actor=administrator,
            scope="global",
            data=PolicyInput(max_invalid_attempts=5, max_invalid_attempts_unlimited=True),
        )
    assert list(_errors(excinfo)) == ["max_invalid_attempts"]


def test_one_policy_per_scope_target(administrator):
    app = ApplicationFactory(name="VPN")
    PolicyFactory(scope="global")
    PolicyFactory(scope="application", application=app)

    with pytest.raises(ValidationError) as global_error:
        policy_create(actor=administrator, scope="global", data=PolicyInput())
    with pytest.raises(ValidationError) as app_error:
        policy_create(actor=administrator, scope="application", application=app, data=PolicyInput())
    with pytest.raises(ValidationError) as group_error:
        policy_create(actor=administrator, scope="group", data=PolicyInput())

    assert list(_errors(global_error)) == ["scope"]
    assert list(_errors(app_error)) == ["application"]
    assert list(_errors(group_error)) == ["group"]


def test_global_policy_cannot_be_deleted(administrator):
    policy = PolicyFactory(scope="global")
    with pytest.raises(ValidationError):
        policy_delete(actor=administrator, policy=policy)
    assert Policy.objects.filter(pk=policy.pk).exists()
    assert _policy_events() == []


def test_deleting_a_group_policy_records_what_it_had(administrator):
    group = GroupFactory(name="Contractors")
    policy = PolicyFactory(scope="group", group=group, priority=10, resend_limit=1)

    policy_delete(actor=administrator, policy=policy)

    assert not Policy.objects.filter(pk=policy.pk).exists()
    (event,) = _policy_events()
    assert (event.payload["action"], event.payload["policy"]) == ("deleted", "group:Contractors")
    assert event.payload["changes"] == {
        "priority": {"old": 10, "new": None},
        "resend_limit": {"old": 1, "new": None},
    }


@pytest.mark.parametrize("role", ["user_manager", "helpdesk", "supervisor", "read_only"])
def test_only_policy_configurers_may_change_policies(persona, role):
    with pytest.raises(PermissionDenied):
        policy_create(actor=persona(role), scope="global", data=PolicyInput())
    assert Policy.objects.count() == 0


def test_deactivated_administrator_may_not_change_policies(administrator):
    administrator.is_active = False
    administrator.save()
    with pytest.raises(PermissionDenied):
        policy_create(actor=administrator, scope="global", data=PolicyInput())


# --- Takes effect at the next sign-in -------------------------------------------------------------


def test_removing_push_restricts_the_next_push_sign_in(administrator):
    user = world(application="VPN")
    policy = Policy.objects.create(scope="global")
    assert get_mfa_service().sign_in(end_user_id=user.pk, factor="push").is_pending

    policy_update(
        actor=administrator,
        policy=policy,
        data=PolicyInput(allowed_methods=["totp", "sms"], default_method="totp"),
    )

    attempt = get_mfa_service().sign_in(end_user_id=user.pk, factor="push")
    assert (attempt.result, attempt.reason) == ("denied", "factor_restricted")


def test_mfa_off_for_an_application_lets_the_next_sign_in_through(administrator):
    user = world(application="VPN")
    vpn = ApplicationFactory(name="VPN")

    policy_create(
        actor=administrator,
        scope="application",
        application=vpn,
        data=PolicyInput(mfa_enabled=False),
    )

    attempt = get_mfa_service().sign_in(end_user_id=user.pk, application="VPN")
    assert (attempt.result, attempt.reason) == ("success", "allowed_by_policy")
    other = get_mfa_service().sign_in(end_user_id=user.pk, application="Mail")
    assert other.is_pending


# --- Reads ----------------------------------------------------------------------------------------


def test_inherited_values_come_from_the_global_policy_below_it():
    PolicyFactory(scope="global", resend_limit=1)
    inherited = policy_inherited(scope="group")
    assert inherited["resend_limit"] == (1, "global")
    assert inherited["code_timeout_seconds"] == (300, "default")
    assert policy_inherited(scope="global")["resend_limit"] == (3, "default")


def test_cost_advisory_names_sms_default_many_resends_and_every_login():
    policy = PolicyFactory(scope="global", default_method="sms", resend_limit=10)
    titles = [a.title for a in policy_cost_advisories(policy_resolved(policy))]
    assert titles == [
        "SMS is the default method",
        "Resends are not capped tightly",
        "Every sign-in asks for a second factor",
    ]


def test_cost_advisory_is_quiet_for_an_app_only_policy_that_remembers_devices():
    policy = PolicyFactory(
        scope="global",
        allowed_methods=["push", "totp"],
        enforcement="new_devices_only",
        remembered_device_days=30,
    )
    assert policy_cost_advisories(policy_resolved(policy)) == []


def test_cost_advisory_is_quiet_for_an_application_whose_policy_turns_mfa_off():
    global_policy = PolicyFactory(scope="global", default_method="sms", resend_limit=10)
    app_policy = PolicyFactory(
        scope="application", application=ApplicationFactory(name="Intranet"), mfa_enabled=False
    )
    assert len(policy_cost_advisories(policy_resolved(global_policy))) == 3
    assert policy_resolved(app_policy)["default_method"] == ("sms", "global")
    assert policy_cost_advisories(policy_resolved(app_policy)) == []


def test_input_round_trips_through_an_existing_policy():
    group = GroupFactory(name="Kiosk")
    policy = PolicyFactory(
        scope="global",
        max_invalid_attempts_unlimited=True,
        min_app_version="",
        min_os_versions={},
        sets_exempt_groups=True,
        exempt_groups=[group],
    )
    data = PolicyInput.from_policy(policy)
    assert data == replace(
        PolicyInput(),
        max_invalid_attempts_unlimited=True,
        min_app_version="",
        min_os_versions={},
        exempt_groups=[group],
    )
    assert (data.value("max_invalid_attempts"), data.value("min_app_version")) == (None, None)
