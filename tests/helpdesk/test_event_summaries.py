"""The one-line summaries of trail events: a sentence for every kind, built from real payloads
where the services make them cheaply, shown on the audit review and in its export, never a
secret, and the bare label for a payload the summary cannot read."""

import csv
import io
from dataclasses import replace

import pytest
import yaml
from django.urls import reverse

from enrollment.enums import ApprovalKind
from enrollment.services import (
    approval_decide,
    approval_request_create,
    bypass_code_issue,
)
from enrollment.services.guards import RecoveryRefused
from enrollment.services.policy import PolicyInput, policy_create, policy_delete, policy_update
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.redaction import mask_numbers
from helpdesk.roles import Role
from helpdesk.services.audit import payload_validate
from helpdesk.services.staff import (
    staff_change_role,
    staff_create,
    staff_deactivate,
    staff_set_units,
    unit_create,
    unit_update,
)
from helpdesk.services.tickets import ticket_comment
from helpdesk.templatetags.event_summaries import event_summary
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    verify_caller,
)
from tests.factories import ApplicationFactory, GroupFactory
from tests.troubleshooting.playbook_helpers import clean_playbook
from troubleshooting.models import PlaybookVersion
from troubleshooting.publishing import (
    playbook_publish_source,
    playbook_version_delete,
    playbook_version_retire,
)

pytestmark = pytest.mark.django_db

REVIEW = reverse("helpdesk:audit-review")
EXPORT = reverse("helpdesk:audit-export")
LABELS = dict(EventKind.choices)


def _last(kind: str) -> TicketEvent:
    return TicketEvent.objects.filter(kind=kind).order_by("-pk").first()


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def _summary(event: TicketEvent, end_user: str = "") -> str:
    return event_summary(event.kind, event.payload, end_user=end_user)


# --- Every kind ----------------------------------------------------------------------------------

# A realistic payload per kind, each valid against the kind's registered payload model (checked
# below), so these stay in step with what the services write.
SAMPLES: dict[str, dict] = {
    EventKind.OPENED: {
        "subject": "No prompt",
        "category": "missing_prompt",
        "channel": "phone",
        "priority": "normal",
        "assignee_id": 4,
        "assignee": "tina.tech",
        "sla_due_at": "2026-12-01T12:00:00+00:00",
    },
    EventKind.ASSIGNED: {
        "from_assignee_id": 4,
        "to_assignee_id": 5,
        "from_assignee": "tina.tech",
        "to_assignee": "colin.tech",
    },
    EventKind.STATUS_CHANGED: {
        "from_status": "new",
        "to_status": "waiting_on_user",
        "note": "Caller is away from the phone",
    },
    EventKind.PRIORITY_CHANGED: {
        "from_priority": "normal",
        "to_priority": "high",
        "sla_due_at": "2026-12-01T08:00:00+00:00",
    },
    EventKind.ESCALATED: {
        "from_status": "new",
        "from_tier": 1,
        "to_tier": 2,
        "reason": "Number of record malformed",
        "automatic": False,
    },
    EventKind.RESOLVED: {
        "from_status": "in_progress",
        "outcome": "prompt_restored",
        "root_causes": ["push_notifications_disabled"],
        "note": "",
    },
    EventKind.REOPENED: {"from_status": "resolved", "note": "Prompt gone again"},
    EventKind.SESSION_STEP: {
        "session": 2,
        "event": "step",
        "playbook": "missing_prompt",
        "version": 3,
        "sequence": 10,
        "node": "ask_notifications",
        "kind": "question",
        "branch": "false",
        "target": "enable_notifications",
        "evidence": {},
    },
    EventKind.IDENTITY_VERIFIED: {
        "method": "push",
        "result": "pending",
        "by": "tina.tech",
        "verification_id": 7,
        "detail": "Push sent to Dana's iPhone.",
    },
    EventKind.RECOVERY_ACTION: {
        "action": "device_mark_lost",
        "outcome": "done",
        "by": "tina.tech",
        "reason": "Phone stolen on the train",
        "message": "Dana's iPhone marked lost; 1 authenticator(s) disabled.",
        "target": {"device_id": 3, "disabled_authenticator_ids": [5]},
    },
    EventKind.POLICY_CHANGED: {
        "action": "updated",
        "policy_id": 1,
        "policy": "global",
        "by": "ada",
        "changes": {"resend_limit": {"old": None, "new": 3}},
    },
    EventKind.STAFF_CHANGED: {
        "action": "role_changed",
        "subject": "staff",
        "target_id": 9,
        "target": "tina.tech",
        "by": "olive.owner",
        "changes": {"role": {"old": "helpdesk", "new": "supervisor"}},
    },
    EventKind.BULK_ENROLLMENT: {
        "event": "finished",
        "job_id": 12,
        "action": "reminder",
        "by": "ada",
        "total": 40,
        "done": 38,
        "failed": 2,
    },
    EventKind.DIRECTORY_SYNCED: {
        "scope": "all",
        "by": "schedule",
        "users_created": 2,
        "users_updated": 1,
        "authenticators_created": 3,
        "authenticators_updated": 0,
        "authenticators_revoked": 1,
        "changes": ["alice@corp: added"],
    },
    EventKind.RECORD_CHANGED: {
        "action": "changed",
        "model": "enrollment.Application",
        "object_id": "4",
        "object": "VPN",
        "by": "olive.owner",
        "changes": {"description": {"old": "", "new": "Remote access"}},
    },
    EventKind.PLAYBOOK_CHANGED: {
        "action": "published",
        "playbook": "missing_prompt",
        "version": 3,
        "content_hash": "ab" * 32,
        "by": "ada",
        "source_file": "missing_prompt.yaml",
    },
}

# Kinds whose label is the whole line, and why.
LABEL_IS_THE_STORY = {
    # The body is free text: the ticket timeline prints it in full under the line, and the
    # audit review prints it after the line (templates), so the summary does not repeat it.
    EventKind.COMMENTED: "Internal comment",
    # No service writes this kind (checks are recorded as guided steps) and it has no payload
    # model, so there is nothing to read.
    EventKind.CHECK_RESULT: "Check result",
}


@pytest.mark.parametrize("kind", EventKind.values)
def test_every_kind_has_a_summary_beyond_its_label(kind):
    if kind in LABEL_IS_THE_STORY:
        assert event_summary(kind, {"anything": 1}) == LABEL_IS_THE_STORY[kind]
        return
    payload = payload_validate(kind, SAMPLES[kind])  # realistic: the kind's model accepts it

    summary = event_summary(kind, payload)

    assert summary != LABELS[kind]
    assert len(summary) > len(LABELS[kind])


@pytest.mark.parametrize("kind", [k for k in EventKind.values if k not in LABEL_IS_THE_STORY])
def test_a_payload_missing_keys_falls_back_without_error(kind):
    sample = SAMPLES[kind]

    assert event_summary(kind, {}) == LABELS[kind]
    assert event_summary(kind, None) == LABELS[kind]
    assert event_summary(kind, ["not", "a", "payload"]) == LABELS[kind]
    for key in sample:
        partial = {k: v for k, v in sample.items() if k != key}
        summary = event_summary(kind, partial)
        # Either the line does without that key, or the label stands in: never a "None".
        assert "None" not in summary, (key, summary)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (EventKind.SESSION_STEP, {"session": 2, "event": "step"}),
        (
            EventKind.SESSION_STEP,
            {"session": 2, "event": "exploded", "playbook": "x", "version": 1},
        ),
        (EventKind.IDENTITY_VERIFIED, {"result": "verified"}),
        (EventKind.RECOVERY_ACTION, {"action": "bypass_code_issue", "outcome": "done"}),
        (EventKind.RECOVERY_ACTION, {"action": "bypass_code_issue", "outcome": "teleported"}),
        (EventKind.POLICY_CHANGED, {"action": "created"}),
        (EventKind.POLICY_CHANGED, {"action": "renamed", "policy": "global"}),
        (EventKind.STAFF_CHANGED, {"action": "created", "target": "x", "changes": "garbled"}),
        (EventKind.BULK_ENROLLMENT, {"event": "started", "job_id": 1, "action": "reset"}),
        (EventKind.PLAYBOOK_CHANGED, {"action": "published", "playbook": "missing_prompt"}),
        (EventKind.PLAYBOOK_CHANGED, {"action": "burnt", "playbook": "x", "version": 1}),
    ],
)
def test_an_old_or_unknown_payload_shape_shows_the_label(kind, payload):
    assert event_summary(kind, payload) == LABELS[kind]


def test_an_unknown_kind_shows_itself():
    assert event_summary("future.kind", {"a": 1}) == "future.kind"


# --- Tickets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            EventKind.OPENED,
            "Opened: Missing prompt by Phone, normal priority, assigned to tina.tech",
        ),
        (EventKind.ASSIGNED, "Assigned to colin.tech (was tina.tech)"),
        (
            EventKind.STATUS_CHANGED,
            "Status New → Waiting on user: Caller is away from the phone",
        ),
        (EventKind.PRIORITY_CHANGED, "Priority normal → high"),
        (EventKind.ESCALATED, "Escalated to Tier 2: Number of record malformed"),
        (EventKind.RESOLVED, "Resolved: Prompt restored (push_notifications_disabled)"),
        (EventKind.REOPENED, "Reopened (was Resolved): Prompt gone again"),
    ],
)
def test_ticket_lifecycle_sentences(kind, expected):
    assert event_summary(kind, SAMPLES[kind]) == expected


# --- Guided sessions -----------------------------------------------------------------------------

STEP = {"session": 5, "event": "step", "playbook": "code_rejected", "version": 2}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"session": 5, "event": "started", "playbook": "code_rejected", "version": 2},
            "Guided session 5 started on Code rejected v2",
        ),
        (
            {
                **STEP,
                "sequence": 1,
                "node": "status",
                "kind": "check",
                "branch": "locked_out",
                "target": "fraud",
                "evidence": {"username": "dana.lee", "status": "locked_out", "privileged": False},
            },
            "Step 1 (Code rejected v2) automatic check “Status”: Locked out → Fraud",
        ),
        (
            {
                **STEP,
                "sequence": 5,
                "node": "test_sign_in",
                "kind": "verify",
                "branch": "denied",
                "target": "why",
                "evidence": {"result": "denied", "reason": "invalid_passcode", "factor": "totp"},
            },
            "Step 5 (Code rejected v2) test sign-in: Denied (Wrong code, App code) → Why",
        ),
        (
            {
                **STEP,
                "sequence": 6,
                "node": "why",
                "kind": "decide",
                "branch": "when:7",
                "target": "rejection",
            },
            "Step 6 (Code rejected v2) decision “Why” → Rejection",
        ),
        (
            {
                **STEP,
                "sequence": 8,
                "node": "app_time",
                "kind": "instruct",
                "branch": "not_done",
                "target": "escalate",
                "evidence": {"caller_said": "Call me on +14155550142 instead"},
            },
            "Step 8 (Code rejected v2) caller's task “App time”: Could not do it; caller said "
            "“Call me on …42 instead” → Escalate",
        ),
        (
            {
                **STEP,
                "sequence": 3,
                "node": "mark_lost",
                "kind": "action",
                "branch": "done",
                "target": "fraud",
                "evidence": {"result": "Dana's iPhone marked lost."},
            },
            "Step 3 (Code rejected v2) action “Mark lost”: Done; Dana's iPhone marked lost. "
            "→ Fraud",
        ),
        (
            {
                **STEP,
                "sequence": 2,
                "node": "ask",
                "kind": "question",
                "branch": "true",
                "target": "fix",
            },
            "Step 2 (Code rejected v2) asked “Ask”: answered yes → Fix",
        ),
        (
            {**STEP, "event": "back", "superseded_from": 4, "node": "ask"},
            "Guided session 5 went back: step 4 and after set aside, now at Ask",
        ),
        (
            {
                **STEP,
                "event": "ended",
                "node": "end_esc",
                "outcome": "escalated_tier2",
                "root_causes": ["phone_number_invalid"],
                "handoff": {"queue": "tier2", "next_step": "Correct the number"},
            },
            "Guided session 5 ended at End esc: Escalated to tier 2 (Phone number not valid), "
            "handed to tier 2",
        ),
        (
            {
                **STEP,
                "sequence": 1,
                "node": "status",
                "title": "Is the account usable?",
                "check": "user_status",
                "kind": "check",
                "branch": "locked_out",
                "target": "unlock",
                "target_title": "Unlock the account",
            },
            "Step 1 (Code rejected v2) automatic check “Is the account usable?”: Account locked "
            "out → Unlock the account",
        ),
        (
            {
                **STEP,
                "event": "ended",
                "node": "end_fixed",
                "title": "Fixed: the caller signs in again",
                "outcome": "code_accepted",
                "root_causes": ["phone_number_invalid"],
            },
            "Guided session 5 ended at Fixed: the caller signs in again: Code accepted "
            "(Phone number not valid)",
        ),
        (
            {**STEP, "event": "abandoned", "outcome": "abandoned"},
            "Guided session 5 on Code rejected v2 abandoned",
        ),
    ],
)
def test_session_step_sentences(payload, expected):
    payload = payload_validate(EventKind.SESSION_STEP, payload)
    assert event_summary(EventKind.SESSION_STEP, payload) == expected


# --- Identity verification, recovery actions and approvals (real services) -----------------------


def test_callback_verification_names_the_method_and_how_long_never_the_number(desk):
    verification = verify_caller(desk)
    event = _last(EventKind.IDENTITY_VERIFIED)
    # Neither the payload nor the line holds the number called in full.
    assert desk.end_user.mobile not in str(event.payload)

    summary = _summary(event, end_user="dana.lee")

    until = verification.valid_until.strftime("%Y-%m-%d %H:%M")
    assert summary == (
        f"Identity of dana.lee verified by callback to the phone number of record, "
        f"valid until {until} UTC"
    )
    assert "0101" not in summary
    assert "+1415" not in summary


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            SAMPLES[EventKind.IDENTITY_VERIFIED],
            "Identity verification by verification push to an active device pending: "
            "Push sent to Dana's iPhone.",
        ),
        (
            {"method": "push", "result": "timed_out", "by": "tina.tech", "detail": ""},
            "Identity verification by verification push to an active device timed out",
        ),
        (
            {
                "method": "callback",
                "result": "refused",
                "by": "tina.tech",
                "detail": "Call back a number of record only, never one the caller gives.",
            },
            "Identity verification by callback to the phone number of record refused: "
            "Call back a number of record only, never one the caller gives.",
        ),
        (
            {
                "method": "supervisor",
                "result": "requested",
                "by": "tina.tech",
                "reason": "No device and no number of record",
            },
            "Supervisor approval of the identity requested. Reason: No device and no number "
            "of record",
        ),
        (
            {
                "method": "supervisor",
                "result": "verified",
                "by": "sam.super",
                "approval_id": 4,
                "valid_until": "2026-12-01T05:15:00+00:00",
                "detail": "Approved by sam.super.",
            },
            "Identity verified by supervisor approval (approval #4), valid until "
            "2026-12-01 05:15 UTC: Approved by sam.super.",
        ),
    ],
)
def test_identity_sentences(payload, expected):
    payload = payload_validate(EventKind.IDENTITY_VERIFIED, payload)
    assert event_summary(EventKind.IDENTITY_VERIFIED, payload) == expected


def test_bypass_code_issued_says_how_many_to_whom_until_when_and_why_never_the_code(desk):
    verify_caller(desk)
    issued = bypass_code_issue(
        actor=desk.technician, ticket=desk.ticket, reason="Phone lost, flying today", count=2
    )
    event = _last(EventKind.RECOVERY_ACTION)

    summary = _summary(event, end_user="dana.lee")

    until = issued.expires_at.strftime("%Y-%m-%d %H:%M")
    assert summary == (
        f"Issued 2 bypass codes to dana.lee, valid until {until} UTC. "
        "Reason: Phone lost, flying today"
    )
    assert all(code not in summary for code in issued.codes)
    assert _summary(event).startswith("Issued 2 bypass codes, valid until")


def test_refused_recovery_action_gives_the_refusal(desk):
    with pytest.raises(RecoveryRefused):
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason="Caller insists")

    summary = _summary(_last(EventKind.RECOVERY_ACTION), end_user="dana.lee")

    assert summary == (
        "Refused issuing a bypass code for dana.lee: Verify the caller's identity on this "
        "ticket first (verification push, callback to the number of record, or a "
        "supervisor's approval)."
    )


def test_second_approval_request_and_decision(desk):
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="authenticators_reset_all",
        reason="Every factor compromised",
    )
    requested = _last(EventKind.RECOVERY_ACTION)
    approval_decide(actor=desk.supervisor, approval=approval, approve=True, reason="Checked")
    decided = _last(EventKind.RECOVERY_ACTION)

    assert _summary(requested) == (
        "Supervisor approval requested for resetting every authenticator. "
        "Reason: Every factor compromised"
    )
    assert _summary(decided, end_user="dana.lee") == (
        f"Approved resetting every authenticator for dana.lee (approval #{approval.pk}). "
        "Reason: Checked"
    )


def _recovery(action: str, target: dict, **extra) -> dict:
    payload = {"action": action, "outcome": "done", "by": "tina.tech", "target": target, **extra}
    return payload_validate(EventKind.RECOVERY_ACTION, payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_recovery("bypass_codes_revoke", {"revoked": 3}), "Revoked 3 bypass codes of dana.lee"),
        (
            _recovery(
                "end_user_re_enroll",
                {
                    "retired_authenticator_ids": [4, 5],
                    "authenticator_id": 9,
                    "enrollment_id": 2,
                    "activation_expires_at": "2026-12-02T04:28:22.413801+00:00",
                },
            ),
            "Re-enrollment started for dana.lee: 2 authenticators retired, activation valid "
            "until 2026-12-02 04:28 UTC",
        ),
        (
            _recovery(
                "enrollment_email_resend",
                {
                    "enrollment_link_id": 3,
                    "enroll_by": "2026-12-30T09:00:00+00:00",
                    "new_link": True,
                },
            ),
            "Sent a new enrollment link to dana.lee, enroll by 2026-12-30 09:00 UTC",
        ),
        (
            _recovery(
                "activation_resend",
                {"authenticator_id": 9, "activation_expires_at": "2026-12-02T10:00:00+00:00"},
            ),
            "Sent a new activation to dana.lee for authenticator #9, valid until "
            "2026-12-02 10:00 UTC",
        ),
        (
            _recovery("authenticator_reset", {"authenticator_id": 9}),
            "Reset authenticator #9 of dana.lee; a new activation was sent",
        ),
        (
            _recovery("authenticators_reset_all", {"authenticator_ids": [4, 5], "approval_id": 8}),
            "Reset 2 authenticators of dana.lee (#4, #5); new activations were sent (approval #8)",
        ),
        (
            _recovery("token_resync", {"authenticator_id": 9, "offset_steps": -2}),
            "Resynchronised code generator #9 of dana.lee (offset -2 steps)",
        ),
        (
            _recovery("end_user_unlock", {"status": "active"}, reason="Locked out by typos"),
            "Unlocked dana.lee (now active). Reason: Locked out by typos",
        ),
        (
            _recovery("device_mark_lost", {"device_id": 3, "disabled_authenticator_ids": [5]}),
            "Marked device #3 of dana.lee lost; 1 authenticator disabled",
        ),
        (
            _recovery(
                "token_serial_correct",
                {"authenticator_id": 9, "previous_serial": "GA-0001", "serial": "GA-0007"},
            ),
            "Corrected the token serial of dana.lee: GA-0001 → GA-0007",
        ),
        (
            _recovery("contact_number_add", {"attribute": "mobile", "number": "…23"}),
            "Added mobile number …23 for dana.lee",
        ),
        (
            # An old row with the number unmasked still shows only its last two digits.
            _recovery("contact_number_add", {"attribute": "phone", "number": "+14155550123"}),
            "Added phone number …23 for dana.lee",
        ),
    ],
)
def test_recovery_action_sentences(payload, expected):
    assert event_summary(EventKind.RECOVERY_ACTION, payload, end_user="dana.lee") == expected


def test_free_text_phone_numbers_are_masked_but_times_and_dates_stay():
    assert mask_numbers("Called back +1 (415) 555-0142 at 2026-12-01 05:28") == (
        "Called back …42 at 2026-12-01 05:28"
    )
    assert mask_numbers("Try 004915112345678 or v4.80.1") == "Try …78 or v4.80.1"


# --- Policies, staff, bulk jobs and playbooks (real services where cheap) ------------------------


def test_policy_created_changed_and_deleted(administrator):
    vpn = ApplicationFactory(name="VPN")
    saved = policy_create(
        actor=administrator,
        scope="application",
        application=vpn,
        data=PolicyInput(allowed_methods=["push", "totp"], default_method="totp", resend_limit=2),
    )
    created = _last(EventKind.POLICY_CHANGED)
    policy_update(
        actor=administrator,
        policy=saved.policy,
        data=replace(
            PolicyInput.from_policy(saved.policy),
            resend_limit=3,
            max_invalid_attempts_unlimited=True,
            min_os_versions={"ios": "16.4"},
        ),
    )
    updated = _last(EventKind.POLICY_CHANGED)
    policy_delete(actor=administrator, policy=saved.policy)
    deleted = _last(EventKind.POLICY_CHANGED)

    assert _summary(created) == (
        "Created the policy for application VPN setting Allowed methods push, totp; "
        "Default method totp; Resend limit 2"
    )
    assert _summary(updated) == (
        "Changed the policy for application VPN: Maximum invalid attempts inherit → no limit; "
        "Resend limit 2 → 3; Minimum OS versions inherit → ios ≥ 16.4"
    )
    assert _summary(deleted) == (
        "Deleted the policy for application VPN, which set Allowed methods push, totp; "
        "Default method totp; Maximum invalid attempts no limit; Resend limit 3; "
        "Minimum OS versions ios ≥ 16.4"
    )


def test_global_policy_change_names_the_global_policy():
    payload = payload_validate(EventKind.POLICY_CHANGED, SAMPLES[EventKind.POLICY_CHANGED])
    assert event_summary(EventKind.POLICY_CHANGED, payload) == (
        "Changed the global policy: Resend limit inherit → 3"
    )


def test_staff_and_unit_changes_say_who_and_what(owner):
    sales = GroupFactory(name="Sales")
    unit = unit_create(actor=owner, name="Sales desk", groups=[sales])
    unit_created = _last(EventKind.STAFF_CHANGED)
    created = staff_create(
        actor=owner,
        username="nina.new",
        role=Role.HELPDESK,
        first_name="Nina",
        email="nina@example.com",
        units=[unit],
    )
    staff_created = _last(EventKind.STAFF_CHANGED)
    staff_change_role(actor=owner, target=created.staff, role=Role.SUPERVISOR)
    role_changed = _last(EventKind.STAFF_CHANGED)
    staff_set_units(actor=owner, target=created.staff, units=[])
    units_changed = _last(EventKind.STAFF_CHANGED)
    unit_update(actor=owner, unit=unit, name="Sales and support", groups=[sales])
    unit_updated = _last(EventKind.STAFF_CHANGED)
    staff_deactivate(actor=owner, target=created.staff)
    deactivated = _last(EventKind.STAFF_CHANGED)

    assert [
        _summary(event)
        for event in (
            unit_created,
            staff_created,
            role_changed,
            units_changed,
            unit_updated,
            deactivated,
        )
    ] == [
        "Created administrative unit Sales desk with groups Sales",
        "Created staff account nina.new as Helpdesk technician (L1), units: Sales desk",
        "Changed the role of nina.new: Helpdesk technician (L1) → Supervisor",
        "Changed the administrative units of nina.new: Sales desk → none",
        "Changed administrative unit Sales and support: name Sales desk → Sales and support",
        "Deactivated staff account nina.new",
    ]
    # The set-up link's token exists only in its email: no line carries its hash either.
    assert all(
        created.setup_link.token_hash not in str(event.payload) or not created.setup_link.token_hash
        for event in TicketEvent.objects.filter(kind=EventKind.STAFF_CHANGED)
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {
                "event": "started",
                "job_id": 12,
                "action": "reminder",
                "by": "ada",
                "reason": "Quarter-end push",
                "total": 40,
                "filters": {"stage": "invited", "group_id": 3},
            },
            "Bulk job #12 (send a reminder) started for 40 end users (group id 3, stage "
            "invited). Reason: Quarter-end push",
        ),
        (
            {
                "event": "user",
                "job_id": 12,
                "action": "reset",
                "by": "ada",
                "outcome": "failed",
                "detail": "No enrollment link to resend",
            },
            "Bulk job #12 (reset enrollment): failed, No enrollment link to resend",
        ),
        (
            {"event": "resumed", "job_id": 12, "action": "reset", "by": "bob", "total": 40,
             "done": 10, "failed": 1},
            "Bulk job #12 (reset enrollment) resumed at 10 done, 1 failed of 40",
        ),
        (
            SAMPLES[EventKind.BULK_ENROLLMENT],
            "Bulk job #12 (send a reminder) finished: 38 done, 2 failed of 40",
        ),
    ],
)  # fmt: skip
def test_bulk_enrollment_sentences(payload, expected):
    payload = payload_validate(EventKind.BULK_ENROLLMENT, payload)
    assert event_summary(EventKind.BULK_ENROLLMENT, payload) == expected


def test_playbook_published_retired_and_refused_deletion(administrator):
    playbook_publish_source(
        actor=administrator, source=_yaml(clean_playbook()), source_file="mini.yaml"
    )
    published = _last(EventKind.PLAYBOOK_CHANGED)
    version = PlaybookVersion.objects.get(playbook__slug="mini", number=1)
    playbook_version_retire(actor=administrator, version=version)
    retired = _last(EventKind.PLAYBOOK_CHANGED)
    with pytest.raises(Exception, match="cannot be deleted"):
        playbook_version_delete(actor=administrator, version=version)
    refused = _last(EventKind.PLAYBOOK_CHANGED)

    assert _summary(published) == "Published mini v1 from mini.yaml"
    assert _summary(retired) == "Retired mini v1"
    assert _summary(refused) == (
        "Refused to delete mini v1: Version 1 cannot be deleted: published versions are kept "
        "as evidence even when unused. Retire it to take it out of service."
    )


# --- Where the lines are shown -------------------------------------------------------------------


def test_audit_review_and_export_show_the_sentences(client_for, administrator):
    playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))
    policy_create(
        actor=administrator,
        scope="application",
        application=ApplicationFactory(name="Payroll"),
        data=PolicyInput(resend_limit=2),
    )
    client = client_for(administrator)

    page = client.get(REVIEW).content.decode()
    export = client.get(EXPORT)
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))

    assert "Published mini v1" in page
    assert "Created the policy for application Payroll setting Resend limit 2" in page
    assert [row[8] for row in rows[1:]] == [
        "Created the policy for application Payroll setting Resend limit 2",
        "Published mini v1",
    ]


def test_audit_review_names_the_end_user_and_prints_a_comment(client_for, desk):
    verify_caller(desk)
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason="Flying today")
    ticket_comment(actor=desk.technician, ticket=desk.ticket, body="Called back, all good")

    page = client_for(desk.supervisor).get(REVIEW).content.decode()
    ticket_page = client_for(desk.technician).get(
        reverse("helpdesk:ticket-detail", args=[desk.ticket.pk])
    )

    assert "Issued 1 bypass code to dana.lee, valid until" in page
    assert "Identity of dana.lee verified by callback to the phone number of record" in page
    assert "Internal comment: Called back, all good" in page
    assert desk.end_user.mobile not in page
    # The timeline is about one end user: the same line without the name, no number either.
    html = ticket_page.content.decode()
    assert "Issued 1 bypass code, valid until" in html
    assert desk.end_user.mobile not in html
