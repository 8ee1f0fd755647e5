"""Presentation helpers for tickets and trail events. The one-line event summaries live in
helpdesk.templatetags.event_summaries (re-exported here for the views that import them)."""

from django import template

from enrollment.labels import policy_setting_text, policy_source_text
from helpdesk.enums import Category, Channel, EventKind, Outcome, Priority, TicketStatus
from helpdesk.models import TicketEvent
from helpdesk.templatetags.event_summaries import event_summary, policy_value, tier_label

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


@register.filter(name="tier_label")
def tier_label_filter(tier: int) -> str:
    return tier_label(tier)


@register.filter(name="event_summary")
def event_summary_filter(event) -> str:
    # The end user's username joins the line when the page loaded it anyway (the audit review
    # selects it); a page that did not (the ticket timeline, about one end user) costs no query.
    end_user = TicketEvent._meta.get_field("end_user").get_cached_value(event, default=None)
    return event_summary(event.kind, event.payload, end_user=end_user.username if end_user else "")


register.filter("policy_value", policy_value)
register.filter("policy_setting", lambda value, name: policy_setting_text(name, value))
register.filter("policy_source", policy_source_text)
