import pytest
from django.core.management import CommandError, call_command

from tests.troubleshooting.playbook_helpers import clean_playbook, codes, lint_dict, node
from troubleshooting.lint import lint_paths
from troubleshooting.schema import parse_playbook

ACTION_OUTCOMES = {"done": "verify", "blocked": "esc", "error": "esc"}


def test_lint_clean_playbook_has_no_findings():
    assert lint_dict(clean_playbook()) == []


def test_lint_duplicate_id():
    data = clean_playbook()
    data["nodes"].append(dict(node(data, "done")))

    assert codes(lint_dict(data)) == [("done", "duplicate-id")]


def test_lint_start_missing():
    data = clean_playbook()
    data["start"] = "nowhere"

    assert codes(lint_dict(data)) == [(None, "start-missing")]


def test_lint_unknown_target_names_node_and_branch():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "nowhere"

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("ask", "unknown-target")
    assert str(finding) == (
        "test.yaml: node ask: branch true leads to nowhere, which does not exist [unknown-target]"
    )


def test_lint_unknown_check():
    data = clean_playbook()
    node(data, "status")["check"] = "moon_phase"

    assert codes(lint_dict(data)) == [("status", "unknown-check")]


def test_lint_unmapped_check_outcome_including_timeout():
    data = clean_playbook()
    del node(data, "status")["outcomes"]["timeout"]

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("status", "unmapped-outcome")
    assert finding.message == "check user_status outcome timeout is not mapped"


def test_lint_unknown_check_outcome():
    data = clean_playbook()
    node(data, "status")["outcomes"]["sleepy"] = "esc"

    assert codes(lint_dict(data)) == [("status", "unknown-outcome")]


def test_lint_unmapped_verify_outcome():
    data = clean_playbook()
    del node(data, "verify")["outcomes"]["fraud"]
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "sec"]

    assert codes(lint_dict(data)) == [("verify", "unmapped-outcome")]


def test_lint_unknown_question_fact():
    data = clean_playbook()
    node(data, "ask")["fact"] = "favourite_colour"

    assert codes(lint_dict(data)) == [("ask", "unknown-question-fact")]


def test_lint_unmapped_answer():
    data = clean_playbook()
    node(data, "ask")["fact"] = "qr_scan_result"
    node(data, "ask")["options"] = [
        {"value": "not_tried", "label": "Not tried", "next": "esc"},
        {"value": "camera_blocked", "label": "Camera blocked", "next": "fix"},
        {"value": "cannot_connect", "label": "No connection", "next": "esc"},
    ]

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("ask", "unmapped-answer")
    assert finding.message == "answer works is not mapped"


def test_lint_unknown_answer():
    data = clean_playbook()
    node(data, "ask")["options"].append({"value": "maybe", "label": "Maybe", "next": "esc"})

    assert codes(lint_dict(data)) == [("ask", "unknown-answer")]


def test_lint_decide_without_otherwise_is_a_schema_finding(tmp_path):
    data = clean_playbook()
    del node(data, "pick")["otherwise"]
    path = tmp_path / "mini.yaml"
    path.write_text(_yaml(data), encoding="utf-8")

    report = lint_paths([path])

    assert [str(f) for f in report.findings] == [
        f"{path}: node pick: key otherwise: required key is missing [schema]"
    ]


def test_lint_unknown_action():
    data = clean_playbook()
    _replace(
        data,
        "fix",
        {
            "kind": "action",
            "action": "teleport",
            "fixes": ["push_notifications_disabled"],
            "outcomes": ACTION_OUTCOMES,
        },
    )

    assert codes(lint_dict(data)) == [("fix", "unknown-action")]


def test_lint_guards_weakened():
    data = clean_playbook()
    _replace(
        data,
        "fix",
        {
            "kind": "action",
            "action": "resend_activation",
            "guards": ["not_self"],
            "fixes": ["activation_link_expired"],
            "outcomes": ACTION_OUTCOMES,
        },
    )

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("fix", "guards-weakened")
    assert finding.message == (
        "guards leave out capability:recovery_actions, no_open_fraud that resend_activation "
        "declares"
    )


def test_lint_unknown_subflow_playbook():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "sub"
    data["nodes"].append(
        {"id": "sub", "kind": "subflow", "title": "Sub", "playbook": "ghost", "otherwise": "esc"}
    )

    assert codes(lint_dict(data)) == [("sub", "unknown-playbook")]


def test_lint_known_subflow_playbook_is_clean():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "sub"
    data["nodes"].append(
        {
            "id": "sub",
            "kind": "subflow",
            "title": "Sub",
            "playbook": "enrollment_failure",
            "outcomes": {"escalated_security": "sec"},
            "otherwise": "esc",
        }
    )

    assert lint_dict(data, known_playbooks=["enrollment_failure"]) == []


def test_lint_unreachable_node():
    data = clean_playbook()
    data["nodes"].append({"id": "orphan", "kind": "end", "title": "x", "outcome": "abandoned"})

    assert codes(lint_dict(data)) == [("orphan", "unreachable")]


def test_lint_node_that_cannot_reach_an_end():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "spin"
    data["nodes"].append(
        {
            "id": "spin",
            "kind": "instruct",
            "title": "Again",
            "caller_action": "sign_out_and_in",
            "done": "spin",
            "not_done": "spin",
        }
    )

    # A node that cannot reach an end sits in a loop with no way out, so the loop is
    # unbounded as well.
    assert codes(lint_dict(data)) == [("spin", "no-end"), ("spin", "unbounded-loop")]


def test_lint_unbounded_loop():
    data = clean_playbook()
    del node(data, "verify")["max_visits"]
    del node(data, "verify")["on_exhausted"]

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("verify", "unbounded-loop")
    assert finding.message == "the loop through verify has no node with max_visits"


def test_lint_exhausted_exit_must_leave_the_loop():
    data = clean_playbook()
    node(data, "verify")["on_exhausted"] = "ask"

    assert codes(lint_dict(data)) == [("verify", "exhausted-loops-back")]


def test_lint_condition_syntax():
    data = clean_playbook()
    node(data, "pick")["conditions"][0]["when"] = "verify_reason =="

    assert codes(lint_dict(data)) == [("pick", "condition-syntax")]


def test_lint_condition_unknown_fact():
    data = clean_playbook()
    node(data, "pick")["conditions"][0]["when"] = 'moon_phase == "full"'

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("pick", "unknown-fact")


def test_lint_condition_fact_not_set_before_it():
    data = clean_playbook()
    node(data, "pick")["conditions"][0]["when"] = 'last_auth_reason == "no_response"'

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("pick", "fact-not-available")
    assert finding.message == ("conditions[0] reads last_auth_reason, which no node before it sets")


def test_lint_remediation_without_verify_before_resolved_end():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "verify"
    node(data, "fix")["done"] = "pick"
    node(data, "done")["root_causes"] = ["push_notifications_disabled"]

    assert codes(lint_dict(data)) == [("fix", "unverified-remediation")]


def test_lint_resolved_end_without_any_verify():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "done"
    node(data, "done")["root_causes"] = ["push_notifications_disabled"]

    assert codes(lint_dict(data)) == [("done", "unverified-resolution")]


def test_lint_resolved_end_without_root_cause():
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "verify"

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("done", "no-root-cause")
    assert finding.message == (
        "prompt_restored end reached with no root cause named (path: status[active] -> "
        "ask[true] -> verify[success] -> pick[when:0] -> done)"
    )


def _bypass(data: dict, before: str = "fix") -> None:
    _replace(
        data,
        before,
        {
            "kind": "action",
            "action": "issue_bypass_code",
            "fixes": ["push_notifications_disabled"],
            "outcomes": ACTION_OUTCOMES,
        },
    )


def test_lint_bypass_without_identity_verification():
    data = clean_playbook()
    _bypass(data)

    [finding] = lint_dict(data)
    assert (finding.node, finding.code) == ("fix", "identity-not-verified")


def test_lint_bypass_after_identity_verification_is_clean():
    data = clean_playbook()
    _bypass(data)
    node(data, "ask")["options"][1]["next"] = "identity"
    data["nodes"].append(
        {
            "id": "identity",
            "kind": "action",
            "title": "Verify the caller",
            "action": "verify_identity",
            "outcomes": {
                "verified": "fix",
                "not_verified": "esc",
                "error": "esc",
                "timeout": "esc",
            },
        }
    )

    assert lint_dict(data) == []


def test_lint_bypass_with_identity_on_one_path_only():
    data = clean_playbook()
    _bypass(data)
    node(data, "ask")["options"][1]["next"] = "identity"
    node(data, "ask")["options"][0]["next"] = "fix"  # the yes-answer skips verification
    data["nodes"].append(
        {
            "id": "identity",
            "kind": "action",
            "title": "Verify the caller",
            "action": "verify_identity",
            "outcomes": {
                "verified": "fix",
                "not_verified": "fix",  # a failed verification must not lead there either
                "error": "esc",
                "timeout": "esc",
            },
        }
    )

    assert codes(lint_dict(data)) == [("fix", "identity-not-verified")]


def test_lint_too_many_paths_is_reported():
    findings = lint_dict(clean_playbook(), max_paths=1)

    assert codes(findings) == [(None, "path-limit")]


def test_lint_paths_duplicate_playbook_ids(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(_yaml(clean_playbook()), encoding="utf-8")

    report = lint_paths([tmp_path])

    assert [(f.file, f.code) for f in report.findings] == [
        (str(tmp_path / "b.yaml"), "duplicate-playbook")
    ]


def test_lint_playbooks_command_fails_on_findings(tmp_path, capsys):
    data = clean_playbook()
    node(data, "status")["check"] = "moon_phase"
    path = tmp_path / "mini.yaml"
    path.write_text(_yaml(data), encoding="utf-8")

    with pytest.raises(CommandError) as info:
        call_command("lint_playbooks", str(path))

    assert str(info.value) == "1 problem(s) in 1 playbook file(s)"
    assert capsys.readouterr().err == (
        f"{path}: node status: no check is registered as moon_phase [unknown-check]\n"
    )


def test_lint_playbooks_command_passes_clean_file(tmp_path, capsys):
    path = tmp_path / "mini.yaml"
    path.write_text(_yaml(clean_playbook()), encoding="utf-8")

    call_command("lint_playbooks", str(path))

    assert capsys.readouterr().out == "1 playbook file(s) lint clean.\n"


def test_lint_playbooks_command_missing_file(tmp_path):
    with pytest.raises(CommandError) as info:
        call_command("lint_playbooks", str(tmp_path / "nope.yaml"))

    assert str(info.value) == f"no such file: {tmp_path / 'nope.yaml'}"


def _replace(data: dict, node_id: str, changes: dict) -> None:
    old = node(data, node_id)
    for key in ("caller_action", "done", "not_done", "fixes"):
        old.pop(key, None)
    old.update(changes)


def _yaml(data: dict) -> str:
    import yaml

    parse_playbook(data) if "otherwise" in node(data, "pick") else None
    return yaml.safe_dump(data, sort_keys=False)


def test_lint_paths_subflows_calling_each_other(tmp_path):
    first = clean_playbook()
    node(first, "ask")["options"][0]["next"] = "sub"
    first["nodes"].append(
        {"id": "sub", "kind": "subflow", "title": "Sub", "playbook": "other", "otherwise": "esc"}
    )
    second = clean_playbook()
    second["id"] = "other"
    node(second, "ask")["options"][0]["next"] = "back"
    second["nodes"].append(
        {"id": "back", "kind": "subflow", "title": "Back", "playbook": "mini", "otherwise": "esc"}
    )
    (tmp_path / "mini.yaml").write_text(_yaml(first), encoding="utf-8")
    (tmp_path / "other.yaml").write_text(_yaml(second), encoding="utf-8")

    report = lint_paths([tmp_path])

    assert [(f.file, f.node, f.code, f.message) for f in report.findings] == [
        (
            str(tmp_path / "mini.yaml"),
            "sub",
            "subflow-cycle",
            "playbooks mini, other call each other through subflows",
        )
    ]
