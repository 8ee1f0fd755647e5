from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.diff import ROUTING, TEXT, definition_diff, source_diff
from troubleshooting.schema import parse_playbook


def _diff(old: dict, new: dict):
    return definition_diff(parse_playbook(old), parse_playbook(new))


def _keys(changes):
    return [(change.node, change.key) for change in changes]


def test_diff_of_identical_definitions_is_empty():
    diff = _diff(clean_playbook(), clean_playbook())

    assert diff.unchanged is True
    assert diff.is_text_only is False
    assert diff.changes == []


def test_diff_wording_changes_are_text_only():
    new = clean_playbook()
    new["title"] = "Mini, reworded"
    new["version_notes"] = "Clearer prompts."
    node(new, "ask")["prompt"] = "Ask whether notifications are on."
    node(new, "ask")["options"][0]["label"] = "Yes, they are"
    node(new, "pick")["conditions"][0]["label"] = "The caller approved"
    node(new, "fix")["title"] = "Turn notifications on"
    node(new, "fix")["kb"] = ["push-troubleshooting"]

    diff = _diff(clean_playbook(), new)

    assert diff.is_text_only is True
    assert diff.routing == []
    assert sorted(_keys(diff.text), key=str) == sorted(
        [
            (None, "title"),
            (None, "version_notes"),
            ("ask", "prompt"),
            ("ask", "options[yes].label"),
            ("pick", "conditions[1].label"),
            ("fix", "title"),
            ("fix", "kb"),
        ],
        key=str,
    )
    assert all(change.category == TEXT for change in diff.text)


def test_diff_target_condition_and_outcome_changes_are_routing():
    new = clean_playbook()
    node(new, "ask")["options"][0]["next"] = "fix"
    node(new, "pick")["conditions"][0]["when"] = 'verify_reason == "bypass"'
    node(new, "status")["outcomes"]["bypass"] = "ask"
    node(new, "verify")["max_visits"] = 3

    diff = _diff(clean_playbook(), new)

    assert diff.is_text_only is False
    assert diff.text == []
    assert sorted(_keys(diff.routing)) == [
        ("ask", "options[yes].next"),
        ("pick", "conditions[1].when"),
        ("status", "outcomes.bypass"),
        ("verify", "max_visits"),
    ]
    [outcome] = [c for c in diff.routing if c.key == "outcomes.bypass"]
    assert (outcome.old, outcome.new) == ("esc", "ask")


def test_diff_added_and_removed_nodes_are_routing_and_listed():
    old = clean_playbook()
    new = clean_playbook()
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "sec"]
    new["nodes"].append(
        {
            "id": "fraud",
            "kind": "end",
            "title": "Fraud",
            "outcome": "escalated_security",
            "queue": "Security",
            "next_step": "Call the security desk.",
        }
    )
    node(new, "verify")["outcomes"]["fraud"] = "fraud"

    diff = _diff(old, new)

    assert diff.added_nodes == ["fraud"]
    assert diff.removed_nodes == ["sec"]
    assert ("fraud", "node added") in _keys(diff.routing)
    assert ("sec", "node removed") in _keys(diff.routing)
    assert ("verify", "outcomes.fraud") in _keys(diff.routing)


def test_diff_mixed_changes_are_split_in_two():
    new = clean_playbook()
    node(new, "ask")["title"] = "Are notifications allowed?"
    node(new, "ask")["options"].append({"value": "unsure", "label": "Not sure", "next": "esc"})

    diff = _diff(clean_playbook(), new)

    assert _keys(diff.text) == [("ask", "title")]
    assert _keys(diff.routing) == [("ask", "options[unsure]")]
    assert diff.routing[0].category == ROUTING
    assert diff.routing[0].old is None


def test_diff_a_changed_kind_is_one_routing_change():
    new = clean_playbook()
    node(new, "done").update(title="Done, really")
    old_node = node(new, "fix")
    new["nodes"][new["nodes"].index(old_node)] = {
        "id": "fix",
        "kind": "end",
        "title": "Gave up",
        "outcome": "escalated_tier2",
        "queue": "Tier 2",
        "next_step": "Look again.",
    }

    diff = _diff(clean_playbook(), new)

    assert [(c.node, c.key, c.old, c.new) for c in diff.routing] == [
        ("fix", "kind", "instruct", "end")
    ]
    assert _keys(diff.text) == [("done", "title")]


def test_source_diff_is_a_unified_diff():
    lines = source_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", old_name="v1", new_name="v2")

    assert lines[:2] == ["--- v1", "+++ v2"]
    assert "-b: 2" in lines
    assert "+b: 3" in lines
