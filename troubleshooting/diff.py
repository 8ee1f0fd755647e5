"""What changed between two versions of a playbook, computed on the parsed definitions node by
node, and split in two:

- text changes: what technicians and callers read (titles, prompts, option and condition
  labels, the escalation's next step, the version notes, knowledge-base links). Sessions
  follow the same paths; reviewing the wording is enough.
- routing changes: anything that can change where a session goes or what it does (nodes
  added or removed, a node's kind, targets, conditions, outcomes, checks, actions, guards,
  facts, fixes, loop bounds, the start node, the complaint served, an escalation's queue).
  These deserve a walk through the graph and the linter's verdict.

A unified diff of the two source files is offered beside it (difflib), for the exact text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from troubleshooting.schema import PlaybookDefinition

TEXT = "text"
ROUTING = "routing"

# Node keys whose change is only wording; every other key routes.
TEXT_NODE_KEYS = frozenset({"title", "prompt", "kb", "next_step"})
TEXT_PLAYBOOK_KEYS = frozenset({"title", "version_notes"})


@dataclass(frozen=True)
class Change:
    category: str  # TEXT | ROUTING
    node: str | None  # None for the playbook's own keys
    key: str
    old: Any = None
    new: Any = None

    @property
    def where(self) -> str:
        return f"node {self.node}" if self.node else "playbook"


@dataclass
class DefinitionDiff:
    changes: list[Change] = field(default_factory=list)
    added_nodes: list[str] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)

    @property
    def text(self) -> list[Change]:
        return [change for change in self.changes if change.category == TEXT]

    @property
    def routing(self) -> list[Change]:
        return [change for change in self.changes if change.category == ROUTING]

    @property
    def is_text_only(self) -> bool:
        return bool(self.changes) and not self.routing

    @property
    def unchanged(self) -> bool:
        return not self.changes


def definition_diff(old: PlaybookDefinition, new: PlaybookDefinition) -> DefinitionDiff:
    """Every change from `old` to `new`, classified text or routing."""
    diff = DefinitionDiff()
    old_data, new_data = old.model_dump(mode="json"), new.model_dump(mode="json")
    for key in ("id", "complaint", "title", "version_notes", "start"):
        if old_data.get(key) != new_data.get(key):
            category = TEXT if key in TEXT_PLAYBOOK_KEYS else ROUTING
            diff.changes.append(Change(category, None, key, old_data.get(key), new_data.get(key)))
    old_nodes = {node["id"]: node for node in old_data["nodes"]}
    new_nodes = {node["id"]: node for node in new_data["nodes"]}
    for node_id in old_nodes:
        if node_id not in new_nodes:
            diff.removed_nodes.append(node_id)
            diff.changes.append(
                Change(ROUTING, node_id, "node removed", old_nodes[node_id]["kind"])
            )
    for node_id in new_nodes:
        if node_id not in old_nodes:
            diff.added_nodes.append(node_id)
            diff.changes.append(
                Change(ROUTING, node_id, "node added", None, new_nodes[node_id]["kind"])
            )
    for node_id, before in old_nodes.items():
        after = new_nodes.get(node_id)
        if after is not None:
            diff.changes += _node_changes(node_id, before, after)
    return diff


def _node_changes(node_id: str, before: dict, after: dict) -> list[Change]:
    if before["kind"] != after["kind"]:
        # A different kind of step is a different step, whatever else stayed.
        return [Change(ROUTING, node_id, "kind", before["kind"], after["kind"])]
    changes = []
    for key in sorted((before.keys() | after.keys()) - {"id", "kind"}):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "options":
            changes += _option_changes(node_id, old or [], new or [])
        elif key == "conditions":
            changes += _condition_changes(node_id, old or [], new or [])
        elif key == "outcomes":
            changes += _mapping_changes(node_id, key, old or {}, new or {})
        else:
            category = TEXT if key in TEXT_NODE_KEYS else ROUTING
            changes.append(Change(category, node_id, key, old, new))
    return changes


def _mapping_changes(node_id: str, key: str, old: dict, new: dict) -> list[Change]:
    return [
        Change(ROUTING, node_id, f"{key}.{name}", old.get(name), new.get(name))
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]


def _option_changes(node_id: str, old: list[dict], new: list[dict]) -> list[Change]:
    """Options are matched by their answer value: a relabelled answer is text, a new target
    or a new or dropped answer routes."""
    before = {repr(option["value"]): option for option in old}
    after = {repr(option["value"]): option for option in new}
    changes = []
    for value in [*before, *(v for v in after if v not in before)]:
        was, now = before.get(value), after.get(value)
        where = f"options[{_value_text(was or now)}]"
        if was is None or now is None:
            changes.append(
                Change(
                    ROUTING,
                    node_id,
                    where,
                    was and f"{was['label']} → {was['next']}",
                    now and f"{now['label']} → {now['next']}",
                )
            )
            continue
        if was["next"] != now["next"]:
            changes.append(Change(ROUTING, node_id, f"{where}.next", was["next"], now["next"]))
        if was["label"] != now["label"]:
            changes.append(Change(TEXT, node_id, f"{where}.label", was["label"], now["label"]))
    if not changes and [repr(o["value"]) for o in old] != [repr(o["value"]) for o in new]:
        changes.append(Change(TEXT, node_id, "options order", _values(old), _values(new)))
    return changes


def _value_text(option: dict) -> str:
    value = option["value"]
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _values(options: list[dict]) -> str:
    return ", ".join(_value_text(option) for option in options)


def _condition_changes(node_id: str, old: list[dict], new: list[dict]) -> list[Change]:
    """Conditions are ordered (the first match wins), so they are compared by position."""
    changes = []
    for index in range(max(len(old), len(new))):
        was = old[index] if index < len(old) else None
        now = new[index] if index < len(new) else None
        where = f"conditions[{index + 1}]"
        if was is None or now is None:
            changes.append(
                Change(
                    ROUTING,
                    node_id,
                    where,
                    was and f"{was['when']} → {was['next']}",
                    now and f"{now['when']} → {now['next']}",
                )
            )
            continue
        for key in ("when", "next"):
            if was[key] != now[key]:
                changes.append(Change(ROUTING, node_id, f"{where}.{key}", was[key], now[key]))
        if was.get("label") != now.get("label"):
            changes.append(
                Change(TEXT, node_id, f"{where}.label", was.get("label"), now.get("label"))
            )
    return changes


def source_diff(old: str, new: str, *, old_name: str, new_name: str) -> list[str]:
    """A unified diff of the two source texts, one line per item."""
    return list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=old_name,
            tofile=new_name,
            lineterm="",
        )
    )
