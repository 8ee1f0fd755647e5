"""A small, clean playbook as a dict, for tests to break one rule at a time."""

import copy

from troubleshooting.lint import Finding, lint_definition
from troubleshooting.schema import parse_playbook

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
