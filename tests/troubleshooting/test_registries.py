from troubleshooting.actions import ACTIONS
from troubleshooting.questions import QUESTION_FACTS
from troubleshooting.vocab import CALLER_ACTIONS


def test_recovery_actions_are_declared_with_their_guards():
    # Extend, never rename: the first actions stay.
    assert set(ACTIONS) >= {
        "verify_identity",
        "issue_bypass_code",
        "re_enroll",
        "reset_authenticator",
        "unlock_user",
        "resend_enrollment",
        "resend_activation",
        "resync_token",
        "mark_device_lost",
    }
    assert ACTIONS["issue_bypass_code"].guards == (
        "identity_verified",
        "capability:recovery_actions",
        "not_self",
        "no_open_fraud",
        "second_approver_if_privileged",
        "reason",
    )
    assert ACTIONS["issue_bypass_code"].service == "enrollment.services.bypass_code_issue"


def test_sensitive_actions_require_identity_and_routine_ones_do_not():
    requiring = {name for name, spec in ACTIONS.items() if spec.requires_identity}

    assert requiring >= {
        "issue_bypass_code",
        "re_enroll",
        "reset_authenticator",
        "unlock_user",
        "correct_token_serial",
        "add_mobile_number",
    }
    assert not {"resend_enrollment", "resend_activation", "resync_token"} & requiring


def test_verify_identity_establishes_identity_through_verified():
    spec = ACTIONS["verify_identity"]

    assert spec.verifies_identity_via == "verified"
    assert spec.outcomes == ("verified", "not_verified", "error", "timeout")
    assert spec.remediation is False


def test_question_facts_have_typed_answers():
    assert QUESTION_FACTS["notifications_enabled"].answers == (True, False)
    assert QUESTION_FACTS["qr_scan_result"].answers == (
        "not_tried",
        "camera_blocked",
        "cannot_connect",
        "works",
    )
    assert QUESTION_FACTS["qr_scan_result"].accepts("works") is True
    assert QUESTION_FACTS["qr_scan_result"].accepts(True) is False


def test_caller_actions_extend_design_md_s_list():
    # Extend, never rename: design.md's actions come first, in order.
    assert CALLER_ACTIONS[:14] == (
        "enable_notifications",
        "reconnect_network",
        "enable_automatic_time",
        "update_app",
        "reinstall_app",
        "grant_camera_permission",
        "check_spam_folder",
        "open_enrollment_link",
        "scan_qr_code",
        "enter_manual_key",
        "rename_authenticator",
        "sign_out_and_in",
        "approve_push",
        "deny_push",
    )


def test_action_services_exist():
    from django.utils.module_loading import import_string

    for spec in ACTIONS.values():
        for path in (spec.service, *spec.also):
            assert callable(import_string(path)), path


def test_action_guards_agree_with_the_recovery_services():
    from enrollment.services.guards import ACTIONS as SERVICE_ACTIONS
    from troubleshooting.actions import SERVICE_GUARD_NAMES

    for spec in ACTIONS.values():
        assert set(spec.guards) <= set(SERVICE_GUARD_NAMES), spec.name
        service_name = spec.service.rsplit(".", 1)[1]
        if spec.name == "verify_identity":
            continue
        service = SERVICE_ACTIONS[service_name]
        assert spec.requires_identity == service.needs_identity, spec.name
        assert ("no_open_fraud" in spec.guards) == (not service.protective), spec.name
        assert ("second_approver_if_privileged" in spec.guards) == service.sensitive, spec.name
