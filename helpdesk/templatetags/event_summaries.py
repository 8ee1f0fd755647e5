"""One plain-text line per trail event, built from its payload alone: what the audit review,
its CSV export, the ticket timeline and the approvals page show in their "what" column.

Each event kind has a small function (SUMMARIES); `event_summary` picks it and falls back
to the kind's label when the kind has none or an old payload lacks what the function reads,
so a trail written before a payload grew a key still renders. The text is plain (the pages
escape it) and never carries a secret: bypass codes and one-time codes are never in a payload,
and phone numbers in free text are masked here (a callback verification's detail names the
number called).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from enrollment.enums import BulkAction, VerificationMethod
from enrollment.labels import finding, say, words
from enrollment.policy import SETTING_LABELS, SETTING_NAMES
from helpdesk.enums import Category, Channel, EventKind, Outcome, TicketStatus, Tier
from helpdesk.redaction import mask_numbers, masked_number
from helpdesk.roles import Role

Payload = Mapping[str, Any]
Summarizer = Callable[[Payload, str], str]

KIND_LABELS: dict[str, str] = dict(EventKind.choices)
_STATUS = dict(TicketStatus.choices)
_CATEGORY = dict(Category.choices)
_CHANNEL = dict(Channel.choices)
_OUTCOME = dict(Outcome.choices)
_ROLE = dict(Role.choices)
_METHOD = dict(VerificationMethod.choices)
_BULK_ACTION = dict(BulkAction.choices)


# --- Shared wording ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return mask_numbers(str(value or "").strip())


def _when(value: str) -> str:
    """An ISO timestamp from a payload as "2026-12-01 05:28 UTC" (TypeError for None, so a
    line missing its time falls back to the label instead of saying "valid until")."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _whom(end_user: str, word: str = "for") -> str:
    return f" {word} {end_user}" if end_user else ""


def _because(payload: Payload, key: str = "reason") -> str:
    reason = _text(payload.get(key))
    return f". Reason: {reason}" if reason else ""


def tier_label(tier: Any) -> str:
    return dict(Tier.choices).get(tier, str(tier))


# --- Tickets -------------------------------------------------------------------------------------


def _status(value: str) -> str:
    return _STATUS.get(value, value)


def _note(p: Payload) -> str:
    return f": {_text(p['note'])}" if p.get("note") else ""


def _opened(p: Payload, _end_user: str) -> str:
    text = (
        f"Opened: {_CATEGORY.get(p['category'], p['category'])}"
        f" by {_CHANNEL.get(p['channel'], p['channel'])}, {p['priority']} priority"
    )
    return text + (f", assigned to {p['assignee']}" if p.get("assignee") else "")


def _assigned(p: Payload, _end_user: str) -> str:
    # Unassigning records to_assignee_id None; a payload without the key is not an assignment.
    to = p["to_assignee"] if p["to_assignee_id"] is not None else None
    return f"Assigned to {to or 'nobody'}" + (
        f" (was {p['from_assignee']})" if p.get("from_assignee") else ""
    )


def _status_changed(p: Payload, _end_user: str) -> str:
    return f"Status {_status(p['from_status'])} → {_status(p['to_status'])}" + _note(p)


def _reopened(p: Payload, _end_user: str) -> str:
    return f"Reopened (was {_status(p['from_status'])})" + _note(p)


def _priority_changed(p: Payload, _end_user: str) -> str:
    return f"Priority {p['from_priority']} → {p['to_priority']}"


def _escalated(p: Payload, _end_user: str) -> str:
    who = "Automatically escalated" if p.get("automatic") else "Escalated"
    return f"{who} to {tier_label(p['to_tier'])}: {_text(p.get('reason'))}"


def _resolved(p: Payload, _end_user: str) -> str:
    causes = ", ".join(p.get("root_causes") or []) or "no root cause named"
    return f"Resolved: {_OUTCOME.get(p['outcome'], p['outcome'])} ({causes})"


# --- Guided sessions -----------------------------------------------------------------------------

_ANSWER = {"true": "yes", "false": "no"}


def _step_said(evidence: Any) -> str:
    """What a step's evidence says in words, when it says anything in words (the rest is data
    the step record keeps and the session page shows)."""
    if not isinstance(evidence, Mapping):
        return ""
    if evidence.get("caller_said"):
        return f"; caller said “{_text(evidence['caller_said'])}”"
    for key in ("refused", "result"):
        value = evidence.get(key)
        # A one-word result ("success") repeats the branch; a sentence says what was done.
        if isinstance(value, str) and " " in value.strip():
            return f"; {_text(value)}"
    return ""


def _playbook_at(p: Payload) -> str:
    return f"{words(p['playbook'])} v{p['version']}"


def _node(p: Payload, id_key: str = "node", title_key: str = "title") -> str:
    """A node as a person reads it: its title, or for older events its id as words."""
    return _text(p.get(title_key)) or words(p.get(id_key))


def _session_step(p: Payload, _end_user: str) -> str:
    event = p["event"]
    match event:
        case "started":
            return f"Guided session {p['session']} started on {_playbook_at(p)}"
        case "back":
            where = _node(p) if p.get("node") else "the start"
            return (
                f"Guided session {p['session']} went back: step {p['superseded_from']} and "
                f"after set aside, now at {where}"
            )
        case "abandoned":
            return f"Guided session {p['session']} on {_playbook_at(p)} abandoned"
        case "ended":
            causes = ", ".join(say("root_cause", c) for c in p.get("root_causes") or [])
            outcome = _OUTCOME.get(p["outcome"], p["outcome"]) or "no outcome"
            where = _node(p) if p.get("node") else "its end"
            text = f"Guided session {p['session']} ended at {where}: "
            text += f"{outcome} ({causes or 'no root cause named'})"
            handoff = p.get("handoff")
            if isinstance(handoff, Mapping) and handoff.get("queue"):
                text += f", handed to {_QUEUE.get(handoff['queue']) or words(handoff['queue'])}"
            return text
        case "step":
            return _step(p)
    raise ValueError(event)


_QUEUE = {"tier2": "tier 2", "security": "security"}


def _step(p: Payload) -> str:
    node, kind, branch = p["node"], p["kind"], p.get("branch") or ""
    if node is None or kind is None:
        raise ValueError("a step names its node and kind")
    head = f"Step {p['sequence']} ({_playbook_at(p)})"
    evidence = p.get("evidence") or {}
    title = f"“{_node(p)}”"
    outcome = say("branch", branch)
    match kind:
        case "check":
            found = finding(p["check"], branch) if p.get("check") else outcome
            what = f"automatic check {title}: {found}"
        case "question":
            what = f"asked {title}: answered {_ANSWER.get(branch, outcome)}"
        case "decide":
            what = f"decision {title}"
        case "instruct":
            what = f"caller's task {title}: {outcome}"
        case "action":
            what = f"action {title}: {outcome}"
        case "verify":
            what = f"test sign-in: {outcome}"
            if isinstance(evidence, Mapping) and evidence.get("reason"):
                what += f" ({say('auth_reason', evidence['reason'])}"
                factor = evidence.get("factor")
                what += f", {say('factor', factor)})" if factor else ")"
        case "subflow":
            what = f"sub-playbook {title}: {outcome}" if branch else f"sub-playbook {title}"
        case _:
            what = f"{say('node_kind', kind)} {title}: {outcome}" if branch else title
    text = f"{head} {what}{_step_said(evidence)}"
    if p.get("target"):
        text += f" → {_node(p, 'target', 'target_title')}"
    return text


# --- Identity verification -----------------------------------------------------------------------

_IDENTITY_RESULT = {
    "pending": "pending",
    "denied": "denied by the end user",
    "fraud": "reported as fraud by the end user",
    "timed_out": "timed out",
    "failed": "failed",
    "refused": "refused",
}


def _identity(p: Payload, end_user: str) -> str:
    method, result = p["method"], p["result"]
    how = _METHOD.get(method, method)
    how = how[0].lower() + how[1:]
    whose = f" of {end_user}" if end_user else ""
    detail = _text(p.get("detail"))
    if result == "verified":
        text = f"Identity{whose} verified by {how}"
        if p.get("approval_id"):
            text += f" (approval #{p['approval_id']})"
        if p.get("valid_until"):
            text += f", valid until {_when(p['valid_until'])}"
        # A callback's detail names the number called; the method already says it all.
        if method != VerificationMethod.CALLBACK and detail:
            text += f": {detail}"
        return text
    if result == "requested":
        return f"Supervisor approval of the identity{whose} requested" + _because(p)
    words = _IDENTITY_RESULT.get(result, result.replace("_", " "))
    text = f"Identity verification{whose} by {how} {words}"
    return text + (f": {detail}" if detail else "") + _because(p)


# --- Recovery actions ----------------------------------------------------------------------------

# What each action is, as the object of "refused …", "approved …".
_ACTION_NOUN = {
    "bypass_code_issue": "issuing a bypass code",
    "bypass_codes_revoke": "revoking the bypass codes",
    "end_user_re_enroll": "a re-enrollment",
    "enrollment_email_resend": "resending the enrollment email",
    "activation_resend": "resending an activation",
    "authenticator_reset": "resetting an authenticator",
    "authenticators_reset_all": "resetting every authenticator",
    "token_resync": "resynchronising a code generator",
    "end_user_unlock": "unlocking the account",
    "device_mark_lost": "marking a device lost",
    "token_serial_correct": "correcting a token serial",
    "contact_number_add": "adding a phone number",
}


def _bypass_issued(t: Payload, whom: str) -> str:
    return (
        f"Issued {_plural(t['count'], 'bypass code')}{_whom(whom, 'to')}, "
        f"valid until {_when(t['expires_at'])}"
    )


def _bypass_revoked(t: Payload, whom: str) -> str:
    return f"Revoked {_plural(t['revoked'], 'bypass code')}{_whom(whom, 'of')}"


def _re_enrolled(t: Payload, whom: str) -> str:
    retired = len(t.get("retired_authenticator_ids") or [])
    return (
        f"Re-enrollment started{_whom(whom)}: {_plural(retired, 'authenticator')} retired, "
        f"activation valid until {_when(t['activation_expires_at'])}"
    )


def _enrollment_resent(t: Payload, whom: str) -> str:
    what = "a new enrollment link" if t.get("new_link") else "the enrollment email again"
    return f"Sent {what}{_whom(whom, 'to')}, enroll by {_when(t['enroll_by'])}"


def _activation_resent(t: Payload, whom: str) -> str:
    return (
        f"Sent a new activation{_whom(whom, 'to')} for authenticator #{t['authenticator_id']}, "
        f"valid until {_when(t['activation_expires_at'])}"
    )


def _authenticator_reset(t: Payload, whom: str) -> str:
    return (
        f"Reset authenticator #{t['authenticator_id']}{_whom(whom, 'of')}; "
        "a new activation was sent"
    )


def _authenticators_reset(t: Payload, whom: str) -> str:
    ids = t["authenticator_ids"]
    listed = ", ".join(f"#{pk}" for pk in ids)
    return (
        f"Reset {_plural(len(ids), 'authenticator')}{_whom(whom, 'of')} ({listed}); "
        "new activations were sent"
    )


def _resynced(t: Payload, whom: str) -> str:
    return (
        f"Resynchronised code generator #{t['authenticator_id']}{_whom(whom, 'of')} "
        f"(offset {_plural(t['offset_steps'], 'step')})"
    )


def _unlocked(t: Payload, whom: str) -> str:
    status = str(t["status"]).replace("_", " ")
    return f"Unlocked {whom or 'the account'} (now {status})"


def _marked_lost(t: Payload, whom: str) -> str:
    disabled = len(t.get("disabled_authenticator_ids") or [])
    return (
        f"Marked device #{t['device_id']}{_whom(whom, 'of')} lost; "
        f"{_plural(disabled, 'authenticator')} disabled"
    )


def _serial_corrected(t: Payload, whom: str) -> str:
    return (
        f"Corrected the token serial{_whom(whom, 'of')}: "
        f"{t.get('previous_serial') or 'none'} → {t['serial']}"
    )


def _number_added(t: Payload, whom: str) -> str:
    # The service records the number masked already; mask again in case an old row did not.
    number = str(t["number"])
    shown = number if number.startswith("…") else masked_number(re.sub(r"\D", "", number))
    return f"Added {t['attribute']} number {shown}{_whom(whom)}"


_ACTION_DONE: dict[str, Callable[[Payload, str], str]] = {
    "bypass_code_issue": _bypass_issued,
    "bypass_codes_revoke": _bypass_revoked,
    "end_user_re_enroll": _re_enrolled,
    "enrollment_email_resend": _enrollment_resent,
    "activation_resend": _activation_resent,
    "authenticator_reset": _authenticator_reset,
    "authenticators_reset_all": _authenticators_reset,
    "token_resync": _resynced,
    "end_user_unlock": _unlocked,
    "device_mark_lost": _marked_lost,
    "token_serial_correct": _serial_corrected,
    "contact_number_add": _number_added,
}


def _recovery(p: Payload, end_user: str) -> str:
    action, outcome = p["action"], p["outcome"]
    noun = _ACTION_NOUN.get(action, action.replace("_", " "))
    target = p.get("target") or {}
    message = _text(p.get("message"))
    approval = f" (approval #{target['approval_id']})" if target.get("approval_id") else ""
    match outcome.removeprefix("approval_"):
        case "done":
            done = _ACTION_DONE.get(action)
            text = done(target, end_user) if done else f"Done: {noun}{_whom(end_user)}"
            return text + approval + _because(p)
        case "requested":
            return f"Supervisor approval requested for {noun}{_whom(end_user)}" + _because(p)
        case "approved":
            return f"Approved {noun}{_whom(end_user)}{approval}" + _because(p)
        case "denied":
            return f"Denied approval of {noun}{_whom(end_user)}{approval}" + _because(p)
        case "refused" | "failed" as how:
            what = "Refused" if how == "refused" else "Failed"
            prefix = "approval of " if outcome.startswith("approval_") else ""
            return f"{what} {prefix}{noun}{_whom(end_user)}" + (f": {message}" if message else "")
    raise ValueError(outcome)


# --- Administration: policies, staff, bulk jobs, playbooks ------------------------------------

_POLICY_LABELS = {**SETTING_LABELS, "description": "Description", "priority": "Priority"}
# Settings in the order the policy pages list them. The stored payload's key order is not
# kept (PostgreSQL's jsonb orders keys its own way), so the line sorts them itself.
_POLICY_ORDER = {
    name: index for index, name in enumerate(("description", "priority", *SETTING_NAMES))
}


def _in_policy_order(changes: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(changes.items(), key=lambda item: (_POLICY_ORDER.get(item[0], 99), item[0]))


def policy_value(value: Any) -> str:
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


def _recorded(name: str, value: Any) -> str:
    """A setting as a policy change records it (configured, not resolved): None inherits."""
    if value is None:
        return "inherit"
    if name == "max_invalid_attempts" and value == "unlimited":
        return "no limit"
    if name == "min_app_version" and value == "":
        return "no minimum"
    if name == "description":
        return f"“{value}”" if value else "none"
    return policy_value(value)


def _policy_name(label: str) -> str:
    scope, _, target = label.partition(":")
    return f"the {scope} policy" if not target else f"the policy for {scope} {target}"


def _policy(p: Payload, _end_user: str) -> str:
    action, name = p["action"], _policy_name(p["policy"])
    changes: Mapping[str, Mapping[str, Any]] = p.get("changes") or {}
    if action == "updated":
        parts = [
            f"{_POLICY_LABELS.get(key, key)} {_recorded(key, change.get('old'))} → "
            f"{_recorded(key, change.get('new'))}"
            for key, change in _in_policy_order(changes)
        ]
        return f"Changed {name}: " + "; ".join(parts) if parts else f"Saved {name} unchanged"
    side = "new" if action == "created" else "old"
    values = [
        f"{_POLICY_LABELS.get(key, key)} {_recorded(key, change.get(side))}"
        for key, change in _in_policy_order(changes)
        if change.get(side) not in (None, "")
    ]
    if action == "created":
        return f"Created {name}" + (f" setting {'; '.join(values)}" if values else "")
    if action == "deleted":
        return f"Deleted {name}" + (f", which set {'; '.join(values)}" if values else "")
    raise ValueError(action)


def _names(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return "none" if value in (None, "") else str(value)


def _staff(p: Payload, _end_user: str) -> str:
    action, target = p["action"], p["target"]
    changes: Mapping[str, Mapping[str, Any]] = p.get("changes") or {}

    def new(key: str) -> Any:
        return (changes.get(key) or {}).get("new")

    def change(key: str) -> str:
        values = changes[key]
        if key == "role":
            return f"{_ROLE.get(values.get('old'), values.get('old'))} → {_ROLE.get(new(key))}"
        return f"{_names(values.get('old'))} → {_names(values.get('new'))}"

    match action:
        case "created":
            return (
                f"Created staff account {target} as {_ROLE.get(new('role'), new('role'))}, "
                f"units: {_names(new('units'))}"
            )
        case "role_changed":
            return f"Changed the role of {target}: {change('role')}"
        case "units_changed":
            return f"Changed the administrative units of {target}: {change('units')}"
        case "deactivated":
            return f"Deactivated staff account {target}"
        case "unit_created":
            return f"Created administrative unit {target} with groups {_names(new('groups'))}"
        case "unit_updated":
            parts = [f"{key} {change(key)}" for key in sorted(changes)]
            return f"Changed administrative unit {target}" + (
                f": {'; '.join(parts)}" if parts else ""
            )
        case "identity_linked":
            return f"Linked {target} to their directory account: {change('identity')}"
        case "refused":
            what = _STAFF_ATTEMPT.get(p.get("attempted", ""), "a change")
            return f"Refused {what} of {target or 'a new account'}: {_text(p.get('refusal'))}"
    raise ValueError(action)


_STAFF_ATTEMPT = {
    "created": "creating the staff account",
    "role_changed": "changing the role",
    "units_changed": "changing the administrative units",
    "deactivated": "deactivating the staff account",
    "unit_created": "creating the administrative unit",
    "unit_updated": "changing the administrative unit",
    "identity_linked": "linking the directory account",
}


def _record_changed(p: Payload, _end_user: str) -> str:
    changes: Mapping[str, Mapping[str, Any]] = p.get("changes") or {}
    parts = [
        f"{name} {_text((values or {}).get('old'))} → {_text((values or {}).get('new'))}"
        for name, values in sorted(changes.items())
    ]
    verb = "Added" if p["action"] == "added" else "Changed"
    return f"{verb} {p['model']} “{p['object']}” in the admin" + (
        f": {'; '.join(parts)}" if parts else ""
    )


def _directory_synced(p: Payload, end_user: str) -> str:
    who = (end_user or "one end user") if p["scope"] == "end_user" else "the whole directory"
    counts = (
        f"{_plural(p['users_created'], 'end user')} added, {p['users_updated']} updated; "
        f"{_plural(p['authenticators_created'], 'authenticator')} added, "
        f"{p['authenticators_updated']} updated, {p['authenticators_revoked']} revoked"
    )
    return f"Synced {who} from the MFA service ({p['by']}): {counts}"


def _bulk(p: Payload, _end_user: str) -> str:
    job = f"Bulk job #{p['job_id']} ({_BULK_ACTION.get(p['action'], p['action']).lower()})"
    match p["event"]:
        case "started":
            filters = p.get("filters") or {}
            chosen = ", ".join(
                f"{key.replace('_', ' ')} {value}" for key, value in sorted(filters.items())
            )
            return (
                f"{job} started for {_plural(p['total'], 'end user')}"
                + (f" ({chosen})" if chosen else "")
                + _because(p)
            )
        case "user":
            detail = _text(p.get("detail"))
            return f"{job}: {p['outcome']}" + (f", {detail}" if detail else "")
        case "resumed":
            return f"{job} resumed at {p['done']} done, {p['failed']} failed of {p['total']}"
        case "finished":
            return f"{job} finished: {p['done']} done, {p['failed']} failed of {p['total']}"
    raise ValueError(p["event"])


def _playbook(p: Payload, _end_user: str) -> str:
    version = f"{p['playbook']} v{p['version']}"
    match p["action"]:
        case "published":
            source = p.get("source_file")
            return f"Published {version}" + (f" from {source}" if source else "")
        case "retired":
            return f"Retired {version}"
        case "delete_refused":
            return f"Refused to delete {version}: {_text(p.get('reason'))}"
    raise ValueError(p["action"])


# --- Dispatch ------------------------------------------------------------------------------------

SUMMARIES: dict[str, Summarizer] = {
    EventKind.OPENED: _opened,
    EventKind.ASSIGNED: _assigned,
    EventKind.STATUS_CHANGED: _status_changed,
    EventKind.PRIORITY_CHANGED: _priority_changed,
    EventKind.ESCALATED: _escalated,
    EventKind.RESOLVED: _resolved,
    EventKind.REOPENED: _reopened,
    EventKind.SESSION_STEP: _session_step,
    EventKind.IDENTITY_VERIFIED: _identity,
    EventKind.RECOVERY_ACTION: _recovery,
    EventKind.POLICY_CHANGED: _policy,
    EventKind.STAFF_CHANGED: _staff,
    EventKind.BULK_ENROLLMENT: _bulk,
    EventKind.PLAYBOOK_CHANGED: _playbook,
    EventKind.RECORD_CHANGED: _record_changed,
    EventKind.DIRECTORY_SYNCED: _directory_synced,
}


def event_summary(kind: str, payload: Any, *, end_user: str = "") -> str:
    """One line saying what an event did, from its payload (and, when the caller has it at
    hand, the end user's username). Falls back to the kind's label for a kind without a
    summary and for a payload that lacks what the summary reads."""
    label = KIND_LABELS.get(kind, kind)
    summarize = SUMMARIES.get(kind)
    if summarize is None or not isinstance(payload, Mapping):
        return label
    try:
        return summarize(payload, end_user) or label
    except (KeyError, TypeError, ValueError, AttributeError):
        return label
