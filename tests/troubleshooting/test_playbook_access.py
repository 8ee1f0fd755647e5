"""The access playbooks (locked_out, lost_device): they lint clean, every enumerated path
walks to its end through the engine, unlocking, re-enrolling and bypass codes come only after
a verified identity, a lost device is marked lost before anything is restored, a bypass only
once nothing the caller has can sign in, and remaining_access reads what a lost device
leaves."""

import pytest
from django.utils import timezone

from authsim.scenarios import SCENARIO_DIR, read_scenario
from authsim.world import load_scenario
from enrollment.models import Device
from tests.troubleshooting.playbook_helpers import definition, paths
from troubleshooting import conf, engine
from troubleshooting.checks import CheckContext, run_check
from troubleshooting.lint import lint_paths
from troubleshooting.schema import ActionNode, EndNode, SubflowNode
from troubleshooting.vocab import RESOLVED_OUTCOMES

PLAYBOOKS = ("locked_out", "lost_device")
ACCESS_CAUSES = {
    "user_locked_out",
    "lost_device",
    "fallback_disabled",
    "user_disabled",
    "authenticator_disabled",
    "access_rule_denies",
    "fraud_reported",
}


def _actions_done(playbook_id: str, path) -> list[str]:
    d = definition(playbook_id)
    return [
        d.node(node_id).action
        for node_id, label in path.steps
        if isinstance(d.node(node_id), ActionNode) and engine.first_branch(label) == "done"
    ]


@pytest.mark.parametrize("playbook_id", PLAYBOOKS)
def test_playbook_lints_clean_and_serves_its_complaint(playbook_id):
    report = lint_paths([conf.playbook_dir() / f"{playbook_id}.yaml"])

    assert [str(finding) for finding in report.findings] == []
    assert definition(playbook_id).complaint == playbook_id


@pytest.mark.parametrize("playbook_id", PLAYBOOKS)
def test_every_enumerated_path_walks_to_its_end(playbook_id):
    d = definition(playbook_id)
    walked = 0
    for path in paths(playbook_id):
        state = engine.start(d, {"complaint": playbook_id, "application": None})
        for node_id, label in path.steps:
            if label == engine.EXHAUSTED:
                continue
            assert state.node == node_id
            node = d.node(node_id)
            named = ("no_authenticator",) if isinstance(node, SubflowNode) else ()
            state = engine.step(d, state, engine.first_branch(label), named_causes=named)
        end = d.node(path.end)
        assert (state.finished, state.node, state.outcome) == (True, path.end, end.outcome)
        if end.outcome in RESOLVED_OUTCOMES:
            assert state.verified_sign_in is True, path
            assert state.root_causes != (), path
            assert state.pending_fixes == (), path
        walked += 1
    assert walked == len(paths(playbook_id)) > 10


def test_the_two_playbooks_name_every_access_root_cause():
    causes: set[str] = set()
    for playbook_id in PLAYBOOKS:
        for node in definition(playbook_id).nodes:
            causes |= set(getattr(node, "fixes", ()))
            if isinstance(node, EndNode):
                causes |= set(node.root_causes)

    assert ACCESS_CAUSES - causes == set()


def test_locked_out_unlocks_only_a_locked_account_and_never_issues_a_bypass():
    d = definition("locked_out")
    for path in paths("locked_out"):
        actions = _actions_done("locked_out", path)
        assert "issue_bypass_code" not in actions, path
        if "unlock_user" in actions:
            nodes = [node for node, _ in path.steps]
            assert ("locked", "when:0") in path.steps or ("why_denied", "when:0") in path.steps
            assert nodes.index("fraud") < nodes.index("unlock"), path
    assert d.node("fraud").outcomes["open"] == "end_fraud"


def test_lost_device_is_marked_lost_before_any_recovery_and_bypass_comes_last():
    for path in paths("lost_device"):
        nodes = [node for node, _ in path.steps]
        actions = _actions_done("lost_device", path)
        moved = "move" in nodes  # a replacement phone, nothing lost: no mark-lost
        if {"re_enroll", "issue_bypass_code", "unlock_user"} & set(actions) and not moved:
            assert "mark_lost" in nodes, path
            assert nodes.index("mark_lost") < nodes.index("identity"), path
        if "issue_bypass_code" in actions:
            # Another method the caller has and a re-enrollment were considered first.
            assert "remaining" in nodes, path
            assert "reenroll" in nodes, path
        if ("remaining", "other_method") in path.steps:
            assert nodes[nodes.index("remaining") + 1] == "verify_other"


# --- The check -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "outcome", "methods"),
    [
        ("lost-device-backup-codes", "other_method", ["backup_codes"]),
        ("lost-device-hardware-token-backup", "other_method", ["hotp_token"]),
        ("lost-device-replacement-android", "replacement_device", []),
        ("lost-device-no-backup-codes-left", "nothing_left", []),
    ],
)
def test_remaining_access_once_the_lost_device_is_recorded(name, outcome, methods):
    user = load_scenario(read_scenario(SCENARIO_DIR / f"{name}.yaml"))
    lost = Device.objects.filter(end_user=user).order_by("id").first()

    Device.objects.filter(pk=lost.pk).update(lost_at=timezone.now())
    lost.authenticators.update(status="disabled")

    result = run_check("remaining_access", CheckContext.build(user))

    assert (result.outcome, result.facts["remaining_methods"]) == (outcome, methods)
    assert result.facts["lost_device_count"] == 1
