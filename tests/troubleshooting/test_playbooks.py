"""The shipped playbooks: they lint clean, every enumerated path walks to its end through the
engine, and together they cover the enrollment and prompt root causes of design.md and the
Tier 1 steps of the enrollment-and-prompt guide."""

import pytest

from tests.troubleshooting.playbook_helpers import definition, paths, shipped_playbooks
from troubleshooting import engine
from troubleshooting.lint import lint_paths
from troubleshooting.schema import (
    ActionNode,
    CheckNode,
    EndNode,
    InstructNode,
    QuestionNode,
    SubflowNode,
    VerifyNode,
)
from troubleshooting.vocab import RESOLVED_OUTCOMES

SHIPPED = ("enrollment_failure", "missing_prompt")
# Rules every shipped playbook must keep, whoever wrote it.
ALL_SHIPPED = shipped_playbooks()

ENROLLMENT_CAUSES = {
    "enrollment_incomplete",
    "device_incompatible",
    "network_unreachable",
    "qr_scan_blocked",
    "invalid_manual_key",
    "activation_link_expired",
    "enrollment_link_expired",
    "activation_email_not_received",
    "duplicate_authenticator_name",
    "invalid_token_serial",
    "otp_channel_unavailable",
    "enrollment_not_enforced",
}
PROMPT_CAUSES = {
    "push_notifications_disabled",
    "device_offline",
    "push_token_stale",
    "app_outdated",
    "policy_misconfiguration",
    "mfa_disabled",
    "remembered_device",
    "session_still_valid",
}


def test_every_shipped_playbook_lints_clean():
    report = lint_paths()

    assert [str(finding) for finding in report.findings] == []
    # Other playbooks ship next to these two (tested in their own modules).
    assert set(SHIPPED) <= set(report.definitions)


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_playbook_serves_its_complaint(playbook_id):
    assert definition(playbook_id).complaint == playbook_id


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_every_enumerated_path_walks_to_its_end(playbook_id):
    """Replays each path through engine.step exactly as a driver would, and checks what the
    session would record at its end."""
    d = definition(playbook_id)
    walked = 0
    for path in paths(playbook_id):
        state = engine.start(d, {"complaint": playbook_id, "application": None})
        for node_id, label in path.steps:
            if label == engine.EXHAUSTED:
                continue  # the engine takes these itself
            assert state.node == node_id
            node = d.node(node_id)
            named = ("enrollment_incomplete",) if isinstance(node, SubflowNode) else ()
            state = engine.step(d, state, engine.first_branch(label), named_causes=named)
        end = d.node(path.end)
        assert state.finished is True
        assert state.node == path.end
        assert state.outcome == end.outcome
        if end.outcome in RESOLVED_OUTCOMES:
            assert state.verified_sign_in is True, path
            assert state.root_causes != (), path
            assert state.pending_fixes == (), path
        walked += 1
    assert walked == len(paths(playbook_id))


@pytest.mark.parametrize("playbook_id", ALL_SHIPPED)
def test_every_sensitive_action_follows_verified_identity_on_every_path(playbook_id):
    d = definition(playbook_id)
    for path in paths(playbook_id):
        verified = False
        for node_id, label in path.steps:
            node = d.node(node_id)
            if engine.requires_identity(node):
                assert verified, path
            if engine.identity_branch(node) == engine.first_branch(label):
                verified = True


@pytest.mark.parametrize("playbook_id", ALL_SHIPPED)
def test_every_end_node_is_reached_by_some_path(playbook_id):
    d = definition(playbook_id)
    ends = {node.id for node in d.nodes if isinstance(node, EndNode)}

    assert {path.end for path in paths(playbook_id)} == ends


def nameable_causes(playbook_id: str) -> set[str]:
    causes: set[str] = set()
    for node in definition(playbook_id).nodes:
        causes |= set(getattr(node, "fixes", ()))
        if isinstance(node, EndNode):
            causes |= set(node.root_causes)
    return causes


def test_enrollment_playbook_names_every_enrollment_root_cause():
    assert ENROLLMENT_CAUSES - nameable_causes("enrollment_failure") == set()


def test_prompt_playbook_names_every_prompt_root_cause():
    assert PROMPT_CAUSES - nameable_causes("missing_prompt") == set()


def _uses(playbook_id: str) -> set[str]:
    used: set[str] = set()
    for node in definition(playbook_id).nodes:
        if isinstance(node, CheckNode):
            used.add(f"check:{node.check}")
        elif isinstance(node, QuestionNode):
            used.add(f"question:{node.fact}")
        elif isinstance(node, InstructNode):
            used.add(f"instruct:{node.caller_action}")
        elif isinstance(node, ActionNode):
            used.add(f"action:{node.action}")
        elif isinstance(node, VerifyNode):
            used.add("verify")
        elif isinstance(node, SubflowNode):
            used.add(f"subflow:{node.playbook}")
    return used


def test_enrollment_playbook_covers_the_tier1_enrollment_steps():
    used = _uses("enrollment_failure")

    # Confirm where enrollment failed; restart it if needed; device compatibility; network
    # connectivity; step-by-step setup; validate sign-in; re-enroll or bypass as recovery.
    assert {
        "check:enrollment_stage",
        "action:resend_enrollment",
        "action:resend_activation",
        "check:device_compatibility",
        "instruct:reconnect_network",
        "instruct:open_enrollment_link",
        "instruct:scan_qr_code",
        "verify",
        "action:verify_identity",
        "action:re_enroll",
        "action:issue_bypass_code",
    } <= used


def test_prompt_playbook_covers_the_tier1_prompt_steps():
    used = _uses("missing_prompt")

    # Device online; app working; correct policy; new attempt; reset if needed; prompt
    # restored; bypass or re-enrollment as recovery.
    assert {
        "question:device_online",
        "check:device_health",
        "check:device_compatibility",
        "check:recent_delivery",
        "check:effective_policy",
        "verify",
        "action:verify_identity",
        "action:reset_authenticator",
        "action:re_enroll",
        "action:issue_bypass_code",
        "subflow:enrollment_failure",
    } <= used


def test_prompt_playbook_loop_is_bounded_to_two_rounds():
    delivery = definition("missing_prompt").node("delivery")

    assert (delivery.max_visits, delivery.on_exhausted) == (2, "recovery_identity")
    assert any(("delivery", engine.EXHAUSTED) in path.steps for path in paths("missing_prompt"))


def test_enrollment_playbook_fixes_the_setup_before_any_recovery():
    used = _uses("enrollment_failure")
    assert {
        "instruct:update_os",
        "instruct:enter_manual_key",
        "action:correct_token_serial",
        "action:add_mobile_number",
        "check:invitation_delivery",
    } <= used

    for path in paths("enrollment_failure"):
        nodes = [node for node, _ in path.steps]
        if ("device_compat", "os_too_old") in path.steps:
            assert nodes[nodes.index("device_compat") + 1] == "update_os"
        if ("which_error", "when:2") in path.steps:  # invalid serial
            at = nodes.index("which_error")
            assert nodes[at + 1] == "identity_serial"
            if ("identity_serial", "verified") in path.steps:
                assert nodes[at + 2] == "correct_serial"
        if ("which_contact", "when:0") in path.steps:
            assert nodes[nodes.index("which_contact") + 1] == "add_mobile"
        if ("scan", "not_done") in path.steps or ("scan_now", "not_done") in path.steps:
            assert "type_key" in nodes


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_misleading_complaints_end_before_any_troubleshooting(playbook_id):
    """A caller who says "no prompt" or "enrollment failed" but is disabled, or has an open
    fraud report, is recognised by the first checks and handed over at once."""
    d = definition(playbook_id)

    def end(target: str):
        node = d.node(target)
        assert isinstance(node, EndNode), target
        return node.outcome, tuple(node.root_causes)

    assert end(d.node("status").outcomes["disabled"]) == ("escalated_tier2", ("user_disabled",))
    assert end(d.node("fraud").outcomes["open"]) == ("escalated_security", ("fraud_reported",))
    locked = d.node(d.node("status").outcomes["locked_out"])
    if isinstance(locked, EndNode):
        assert tuple(locked.root_causes) == ("user_locked_out",)
    else:  # handed over to the lockout playbook
        assert (locked.kind, locked.playbook) == ("subflow", "locked_out")


def test_prompt_playbook_hands_over_a_lost_phone_and_explains_what_works_as_designed():
    d = definition("missing_prompt")

    lost = d.node("ask_device")
    handover = d.node({opt.value: opt.next for opt in lost.options}[False])
    assert (handover.playbook, handover.otherwise) == ("lost_device", "end_lost_device")
    assert (d.node("end_lost_device").outcome, d.node("end_lost_device").root_causes) == (
        "escalated_tier2",
        ["lost_device"],
    )
    for node_id in ("reinstall", "enable_notifications", "update_app"):
        assert d.node(node_id).not_done == "ask_device"
    designed = {
        cause
        for node in d.nodes
        if isinstance(node, EndNode) and node.outcome == "working_as_designed"
        for cause in node.root_causes
    }
    assert {"remembered_device", "session_still_valid", "mfa_disabled"} <= designed
    assert d.node("offline_passcode").factor == "totp"
