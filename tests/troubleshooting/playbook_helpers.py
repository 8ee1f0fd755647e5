"""A small, clean playbook as a dict, for tests to break one rule at a time."""

import copy
from functools import cache

from troubleshooting import conf, engine
from troubleshooting.lint import Finding, lint_definition
from troubleshooting.schema import load_playbook, parse_playbook

_CLEAN = {
    "id": "mini",
    "complaint": "missing_prompt",
    "title": "Mini",
    "start": "status",
    "nodes": [
        {
            "id": "status",
            "kind": "check",
            "title": "Status",
            "check": "user_status",
            "outcomes": {
                "active": "ask",
                "pending_enrollment": "esc",
                "bypass": "esc",
                "locked_out": "esc",
                "disabled": "esc",
                "error": "esc",
                "timeout": "esc",
            },
        },
        {
            "id": "ask",
            "kind": "question",
            "title": "Notifications allowed?",
            "fact": "notifications_enabled",
            "options": [
                {"value": True, "label": "Yes", "next": "esc"},
                {"value": False, "label": "No", "next": "fix"},
            ],
        },
        {
            "id": "fix",
            "kind": "instruct",
            "title": "Enable notifications",
            "caller_action": "enable_notifications",
            "fixes": ["push_notifications_disabled"],
            "done": "verify",
            "not_done": "esc",
        },
        {
            "id": "verify",
            "kind": "verify",
            "title": "Sign in again",
            "max_visits": 2,
            "on_exhausted": "esc",
            "outcomes": {
                "success": "pick",
                "denied": "verify",
                "fraud": "sec",
                "error": "esc",
                "timeout": "verify",
            },
        },
        {
            "id": "pick",
            "kind": "decide",
            "title": "Why did it work?",
            "conditions": [
                {
                    "when": 'verify_reason == "user_approved"',
                    "next": "done",
                }
            ],
            "otherwise": "done",
            "on_error": "esc",
        },
        {"id": "done", "kind": "end", "title": "Restored", "outcome": "prompt_restored"},
        {
            "id": "esc",
            "kind": "end",
            "title": "Escalate",
            "outcome": "escalated_tier2",
            "queue": "tier2",
            "next_step": "Look at the auth log.",
        },
        {
            "id": "sec",
            "kind": "end",
            "title": "Security",
            "outcome": "escalated_security",
            "queue": "security",
            "next_step": "Review the fraud report.",
            "root_causes": ["fraud_reported"],
        },
    ],
}


def clean_playbook() -> dict:
    return copy.deepcopy(_CLEAN)


def node(data: dict, node_id: str) -> dict:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def lint_dict(data: dict, **kwargs) -> list[Finding]:
    return lint_definition(parse_playbook(data, file="test.yaml"), file="test.yaml", **kwargs)


def codes(findings: list[Finding]) -> list[tuple[str | None, str]]:
    return [(finding.node, finding.code) for finding in findings]


def shipped_playbooks() -> list[str]:
    """The ids of the playbooks shipped in the playbook folder."""
    return sorted(path.stem for path in conf.playbook_dir().glob("*.yaml"))


@cache
def definition(playbook_id: str):
    """A shipped playbook, parsed once per test run."""
    return load_playbook(conf.playbook_dir() / f"{playbook_id}.yaml")


@cache
def paths(playbook_id: str):
    """Every path through a shipped playbook, enumerated once per test run."""
    return engine.enumerate_paths(definition(playbook_id))
