import pytest

from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.schema import (
    CheckNode,
    EndNode,
    PlaybookFileError,
    load_playbook,
    parse_playbook,
)


def problems(data: dict) -> list[str]:
    with pytest.raises(PlaybookFileError) as info:
        parse_playbook(data, file="pb.yaml")
    return info.value.lines()


def test_parse_playbook_clean_file_builds_typed_nodes():
    definition = parse_playbook(clean_playbook())

    assert definition.id == "mini"
    assert definition.start == "status"
    assert isinstance(definition.node("status"), CheckNode)
    assert isinstance(definition.node("done"), EndNode)
    assert definition.node("done").outcome == "prompt_restored"


def test_parse_playbook_unknown_key_names_file_node_and_key():
    data = clean_playbook()
    node(data, "ask")["colour"] = "red"

    assert problems(data) == ["pb.yaml: node ask: key colour: unknown key"]


def test_parse_playbook_unknown_top_level_key_is_rejected():
    data = clean_playbook()
    data["author"] = "someone"

    assert problems(data) == ["pb.yaml: key author: unknown key"]


def test_parse_playbook_unknown_kind_lists_the_kinds():
    data = clean_playbook()
    node(data, "ask")["kind"] = "ponder"

    assert problems(data) == [
        "pb.yaml: node ask: unknown kind; expected one of check, question, decide, instruct, "
        "action, verify, subflow, end"
    ]


def test_parse_playbook_decide_without_otherwise_is_rejected():
    data = clean_playbook()
    del node(data, "pick")["otherwise"]

    assert problems(data) == ["pb.yaml: node pick: key otherwise: required key is missing"]


def test_parse_playbook_outcome_outside_vocabulary_is_rejected():
    data = clean_playbook()
    node(data, "done")["outcome"] = "fixed"

    [line] = problems(data)
    assert line.startswith("pb.yaml: node done: key outcome: 'fixed' is not allowed; expected")


def test_parse_playbook_root_cause_outside_vocabulary_is_rejected():
    data = clean_playbook()
    node(data, "sec")["root_causes"] = ["gremlins"]

    [line] = problems(data)
    assert line.startswith("pb.yaml: node sec: key root_causes.0: 'gremlins' is not allowed")


def test_parse_playbook_caller_action_outside_vocabulary_is_rejected():
    data = clean_playbook()
    node(data, "fix")["caller_action"] = "restart_phone"

    [line] = problems(data)
    assert line.startswith("pb.yaml: node fix: key caller_action: 'restart_phone' is not allowed")


def test_parse_playbook_escalation_needs_queue_and_next_step():
    data = clean_playbook()
    del node(data, "esc")["queue"]

    assert problems(data) == [
        "pb.yaml: node esc: an escalated_tier2 end names its queue and a next_step for the handoff"
    ]


def test_parse_playbook_queue_on_non_escalation_is_rejected():
    data = clean_playbook()
    node(data, "done")["queue"] = "tier2"

    assert problems(data) == [
        "pb.yaml: node done: only an escalation names a queue, not prompt_restored"
    ]


def test_parse_playbook_max_visits_needs_on_exhausted():
    data = clean_playbook()
    del node(data, "verify")["on_exhausted"]

    assert problems(data) == [
        "pb.yaml: node verify: max_visits and on_exhausted go together: set both or neither"
    ]


def test_parse_playbook_node_without_id_is_named_by_position():
    data = clean_playbook()
    del data["nodes"][1]["id"]

    assert problems(data) == ["pb.yaml: node #2: key id: required key is missing"]


def test_parse_playbook_duplicate_option_values_are_rejected():
    data = clean_playbook()
    node(data, "ask")["options"][1]["value"] = True

    assert problems(data) == ["pb.yaml: node ask: key options: each option value may appear once"]


def test_parse_playbook_kb_slugs_are_accepted_on_any_node():
    data = clean_playbook()
    node(data, "ask")["kb"] = ["authentication-prompt-issues"]
    node(data, "done")["kb"] = ["first-login-experience"]

    definition = parse_playbook(data)

    assert definition.node("ask").kb == ["authentication-prompt-issues"]
    assert definition.node("done").kb == ["first-login-experience"]


def test_load_playbook_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")

    with pytest.raises(PlaybookFileError) as info:
        load_playbook(path)

    [line] = info.value.lines()
    assert line.startswith(f"{path}: line 2, column 1: expected valid YAML (")


def test_load_playbook_top_level_list_is_rejected(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")

    with pytest.raises(PlaybookFileError) as info:
        load_playbook(path)

    assert info.value.lines() == [f"{path}: expected a mapping at the top level"]
