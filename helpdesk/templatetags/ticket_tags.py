"""Presentation helpers for tickets and trail events."""

from django import template

from helpdesk.enums import Category, Channel, EventKind, Outcome, Priority, TicketStatus, Tier

register = template.Library()

_LABELS: dict[str, dict[str, str]] = {
    "status": dict(TicketStatus.choices),
    "priority": dict(Priority.choices),
    "category": dict(Category.choices),
    "channel": dict(Channel.choices),
    "outcome": dict(Outcome.choices),
    "kind": dict(EventKind.choices),
}

# Badge colour per status and priority (app.css classes).
_STATUS_BADGE = {
    TicketStatus.NEW: "badge-warn",
    TicketStatus.ESCALATED: "badge-danger",
    TicketStatus.RESOLVED: "badge-ok",
    TicketStatus.CLOSED: "",
}
_PRIORITY_BADGE = {Priority.URGENT: "badge-danger", Priority.HIGH: "badge-warn"}


@register.filter
def label(value: str, vocabulary: str) -> str:
    return _LABELS.get(vocabulary, {}).get(value, value)


@register.filter
def status_badge(status: str) -> str:
    return _STATUS_BADGE.get(status, "")


@register.filter
def priority_badge(priority: str) -> str:
    return _PRIORITY_BADGE.get(priority, "")


@register.filter
def tier_label(tier: int) -> str:
    return dict(Tier.choices).get(tier, str(tier))


def _status(value: str | None) -> str:
    return _LABELS["status"].get(value or "", value or "")


def event_summary(kind: str, payload: dict) -> str:
    """One line saying what an event did, from its payload alone."""
    p = payload or {}
    match kind:
        case EventKind.OPENED:
            text = (
                f"Opened: {_LABELS['category'].get(p.get('category'), p.get('category'))}"
                f" by {_LABELS['channel'].get(p.get('channel'), p.get('channel'))},"
                f" {p.get('priority')} priority"
            )
            return text + (f", assigned to {p['assignee']}" if p.get("assignee") else "")
        case EventKind.ASSIGNED:
            return f"Assigned to {p.get('to_assignee') or 'nobody'}" + (
                f" (was {p['from_assignee']})" if p.get("from_assignee") else ""
            )
        case EventKind.STATUS_CHANGED:
            return f"Status {_status(p.get('from_status'))} → {_status(p.get('to_status'))}" + (
                f": {p['note']}" if p.get("note") else ""
            )
        case EventKind.REOPENED:
            return f"Reopened (was {_status(p.get('from_status'))})" + (
                f": {p['note']}" if p.get("note") else ""
            )
        case EventKind.PRIORITY_CHANGED:
            return f"Priority {p.get('from_priority')} → {p.get('to_priority')}"
        case EventKind.COMMENTED:
            return "Internal comment"
        case EventKind.ESCALATED:
            who = "Automatically escalated" if p.get("automatic") else "Escalated"
            return f"{who} to {tier_label(p.get('to_tier'))}: {p.get('reason', '')}"
        case EventKind.RESOLVED:
            causes = ", ".join(p.get("root_causes") or []) or "no root cause named"
            outcome = _LABELS["outcome"].get(p.get("outcome"), p.get("outcome"))
            return f"Resolved: {outcome} ({causes})"
    return _LABELS["kind"].get(kind, kind)


@register.filter(name="event_summary")
def event_summary_filter(event) -> str:
    return event_summary(event.kind, event.payload)


@register.filter
def policy_value(value) -> str:
    """A policy setting as people read it: lists joined, minimum versions spelled out."""
    if value is None:
        return "no limit"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key} ≥ {version}" for key, version in sorted(value.items())) or "none"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)
