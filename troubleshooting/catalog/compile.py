"""The diagnosis playbook, compiled from the root-cause catalog.

Where a complaint's playbook runs out of branches (an escalation to tier 2), the session
diagnoses instead of giving up: it gathers every automatic piece of evidence again, ranks
the catalog's causes against the facts, asks the question that tells the likeliest apart,
has the fix carried out, verifies with a real sign-in and, when the sign-in still fails,
marks that fix tried and goes round again with the new evidence, so a second fault is
found. A cause whose fix is an escalation or an explanation ends the session naming it.

The result is an ordinary playbook definition (id `diagnose`), published beside the
files by `sync_playbooks` and pinned by the sessions that enter it; its loops are bounded
and its path rules are proved from its structure (`proof: structure`).
"""

from __future__ import annotations

from typing import Any

from troubleshooting.actions import ACTIONS
from troubleshooting.catalog import Catalog, Cause, load_catalog
from troubleshooting.questions import QUESTION_FACTS
from troubleshooting.schema import PlaybookDefinition, parse_playbook

DIAGNOSIS_ID = "diagnose"
# Rounds of evidence, rank, fix and verify before the case is handed on.
ROUNDS = 4

# The automatic evidence, gathered again each round (node id, check id).
GATHER: tuple[tuple[str, str], ...] = (
    ("dx_status", "user_status_now"),
    ("dx_fraud", "fraud_signals"),
    ("dx_policy", "effective_policy"),
    ("dx_authenticators", "authenticators"),
    ("dx_enrollment", "enrollment_stage"),
    ("dx_invitation", "invitation_delivery"),
    ("dx_contacts", "contact_attributes"),
    ("dx_devices", "device_compatibility"),
    ("dx_health", "device_health"),
    ("dx_log", "auth_log"),
    ("dx_sms", "sms_provider"),
    ("dx_email", "email_provider"),
    ("dx_delivery", "recent_delivery"),
    ("dx_codes", "code_rejection"),
)
# The gate: causes that end the case where it stands, in the order a sign-in meets them.
GATE = ("fraud_reported", "user_disabled", "access_rule_denies")
HANDOFF = "dx_handoff"


def _or(*parts: str | None) -> str | None:
    given = [f"({part})" for part in parts if part]
    return " || ".join(given) or None


def _check_node(node_id: str, check_id: str, target: str) -> dict[str, Any]:
    from troubleshooting.checks import registry

    spec = registry.get(check_id)
    return {
        "id": node_id,
        "kind": "check",
        "title": spec.title[:120],
        "check": check_id,
        "outcomes": dict.fromkeys(spec.all_outcomes, target),
    }


def _end(node_id: str, outcome: str, title: str, causes: list[str], **extra) -> dict[str, Any]:
    return {
        "id": node_id,
        "kind": "end",
        "title": title,
        "outcome": outcome,
        "root_causes": causes,
        **extra,
    }


def _tier2_end(node_id: str, title: str, causes: list[str], next_step: str) -> dict[str, Any]:
    return _end(node_id, "escalated_tier2", title, causes, queue="tier2", next_step=next_step)


def _fix_nodes(cause: Cause) -> tuple[str, list[dict[str, Any]]]:
    """The nodes that carry out and verify one cause's fix; returns the entry node id."""
    fix, nodes = cause.fix, []
    verify_id, entry = f"dx_verify_{cause.id}", f"dx_fix_{cause.id}"
    if fix.caller_action:
        nodes.append(
            {
                "id": entry,
                "kind": "instruct",
                "title": cause.title[:120],
                "prompt": f"Likely cause: {cause.title}. Walk the caller through the fix.",
                "kb": list(cause.kb),
                "caller_action": fix.caller_action,
                "fixes": [cause.id],
                "done": verify_id,
                "not_done": "dx_status",
            }
        )
    else:
        spec = ACTIONS[fix.action]
        act_id = f"dx_act_{cause.id}"
        nodes.append(
            {
                "id": act_id,
                "kind": "action",
                "title": cause.title[:120],
                "prompt": f"Likely cause: {cause.title}. Carry out the fix.",
                "kb": list(cause.kb),
                "action": fix.action,
                "guards": list(spec.guards),
                "fixes": [cause.id],
                "outcomes": {
                    name: (verify_id if name == "done" else "dx_status") for name in spec.outcomes
                },
            }
        )
        if spec.requires_identity:
            nodes.append(
                {
                    "id": entry,
                    "kind": "action",
                    "title": "Verify the caller's identity",
                    "prompt": "This fix changes the account: verify who is calling first.",
                    "action": "verify_identity",
                    "guards": list(ACTIONS["verify_identity"].guards),
                    "outcomes": {
                        "verified": act_id,
                        "not_verified": HANDOFF,
                        "error": HANDOFF,
                        "timeout": HANDOFF,
                    },
                }
            )
        else:
            entry = act_id
    # The caller's own steps that finish the fix, in order, before the sign-in.
    following = verify_id
    for index in reversed(range(len(fix.then))):
        then_id = f"dx_then_{cause.id}_{index}"
        nodes.append(
            {
                "id": then_id,
                "kind": "instruct",
                "title": "Finish the fix with the caller",
                "caller_action": fix.then[index],
                "done": following,
                "not_done": "dx_status",
            }
        )
        following = then_id
    for node in nodes:
        if node.get("fixes"):
            if node["kind"] == "instruct":
                node["done"] = following
            else:
                node["outcomes"]["done"] = following
    factor = cause.verify.sign_in or "auto"
    success = "dx_end_re_enrolled" if fix.action == "re_enroll" else "dx_restored"
    nodes.append(
        {
            "id": verify_id,
            "kind": "verify",
            "title": "Test sign-in after the fix",
            "prompt": "Start a fresh sign-in while the caller watches for the request.",
            "factor": factor if factor != "hotp_token" else "auto",
            "outcomes": {
                "success": success,
                "denied": "dx_status",
                "error": "dx_status",
                "timeout": "dx_status",
                "fraud": "dx_end_fraud_reported",
            },
        }
    )
    return entry, nodes


def compile_diagnosis(catalog: Catalog | None = None) -> PlaybookDefinition:
    """The diagnosis playbook for the catalog (the shipped one by default)."""
    catalog = catalog or load_catalog()
    nodes: list[dict[str, Any]] = []
    for (node_id, check_id), following in zip(
        GATHER, [*(n for n, _ in GATHER[1:]), "dx_rank"], strict=True
    ):
        nodes.append(_check_node(node_id, check_id, following))

    conditions: list[dict[str, Any]] = []
    by_id = {cause.id: cause for cause in catalog.causes}
    for cause_id in GATE:
        cause = by_id[cause_id]
        conditions.append(
            {
                "when": cause.suggests,
                "unless": cause.rules_out,
                "next": f"dx_end_{cause_id}",
                "label": cause.title,
            }
        )
    # Questions: first to confirm a cause the evidence already points at, then (after every
    # fix the evidence supports) to look where the service cannot see.
    questions: list[dict[str, Any]] = []
    confirm, explore = _question_conditions(catalog, questions)
    conditions += confirm
    fixable = [c for c in catalog.causes if c.fix.caller_action or c.fix.action]
    # A locked account blocks every other fix: unlock first.
    fixable.sort(key=lambda c: c.id != "user_locked_out")
    fix_nodes: list[dict[str, Any]] = []
    for cause in fixable:
        entry, built = _fix_nodes(cause)
        fix_nodes += built
        conditions.append(
            {
                "when": cause.suggests,
                "unless": _or(cause.rules_out, cause.fixed_when, f'"{cause.id}" in tried_causes'),
                "next": entry,
                "label": cause.title,
            }
        )
    conditions += explore
    ends: list[dict[str, Any]] = []
    for cause in catalog.causes:
        if cause.id in GATE or not (cause.fix.escalate or cause.fix.explain):
            continue
        conditions.append(
            {
                "when": cause.suggests,
                "unless": cause.rules_out,
                "next": f"dx_end_{cause.id}",
                "label": cause.title,
            }
        )
    for cause in catalog.causes:
        if cause.fix.escalate == "security":
            ends.append(
                _end(
                    f"dx_end_{cause.id}",
                    "escalated_security",
                    cause.title[:120],
                    [cause.id],
                    queue="security",
                    next_step="Security reviews the report before any recovery.",
                )
            )
        elif cause.fix.escalate:
            ends.append(
                _tier2_end(
                    f"dx_end_{cause.id}",
                    cause.title[:120],
                    [cause.id],
                    f"Tier 2 fixes what the helpdesk cannot: {cause.title.lower()}.",
                )
            )
        elif cause.fix.explain:
            ends.append(
                _end(f"dx_end_{cause.id}", "working_as_designed", cause.title[:120], [cause.id])
            )
    nodes.append(
        {
            "id": "dx_rank",
            "kind": "decide",
            "title": "What the evidence points at",
            "unknown_is_false": True,
            "max_visits": ROUNDS * 3,
            "on_exhausted": HANDOFF,
            "conditions": conditions,
            "otherwise": HANDOFF,
            "on_error": HANDOFF,
        }
    )
    nodes += fix_nodes + questions + ends
    nodes.append(
        {
            "id": "dx_restored",
            "kind": "decide",
            "title": "Which access came back",
            "conditions": [
                {
                    # Not enrolled when this round began: the fix finished the enrollment.
                    "when": (
                        'user_status == "pending_enrollment" || authenticator_active_count == 0'
                    ),
                    "next": "dx_enrolled",
                },
                {
                    "when": 'verify_factor == "push" || verify_factor == "webauthn"',
                    "next": "dx_end_prompt_restored",
                },
            ],
            "otherwise": "dx_end_code_accepted",
            "on_error": "dx_end_code_accepted",
        }
    )
    nodes += [
        _end("dx_enrolled", "enrolled", "Enrollment finished and verified", []),
        _end("dx_end_prompt_restored", "prompt_restored", "The prompt works again", []),
        _end("dx_end_code_accepted", "code_accepted", "Codes are accepted again", []),
        _end("dx_end_re_enrolled", "re_enrolled", "Enrolled again and verified", []),
        _tier2_end(
            HANDOFF,
            "Hand over with the findings",
            [],
            "Tier 2 picks up from the suspected and ruled-out causes in the handoff.",
        ),
    ]
    return parse_playbook(
        {
            "id": DIAGNOSIS_ID,
            "complaint": "missing_prompt",
            "title": "Diagnose from the evidence",
            "version_notes": catalog.version_notes,
            "start": "dx_status",
            "proof": "structure",
            "nodes": nodes,
        },
        file="root_causes.yaml",
    )


def _question_conditions(
    catalog: Catalog, questions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rank's question branches (to confirm, to explore) and the question nodes."""
    confirm, explore, made = [], [], set()
    for cause in catalog.causes:
        if not cause.question:
            continue
        fact = QUESTION_FACTS[cause.question]
        node_id = f"dx_ask_{cause.question}"
        label = f"Ask: {fact.asks[:80]}"
        confirm.append(
            {
                "when": f"{cause.question} == null && ({cause.suggests})",
                "unless": cause.rules_out,
                "next": node_id,
                "label": label,
            }
        )
        if cause.ask_when:
            explore.append(
                {
                    "when": f"{cause.question} == null && ({cause.ask_when})",
                    "unless": cause.rules_out,
                    "next": node_id,
                    "label": label,
                }
            )
        if cause.question in made:
            continue
        made.add(cause.question)
        questions.append(
            {
                "id": node_id,
                "kind": "question",
                "title": "Ask the caller",
                "prompt": fact.asks,
                "fact": cause.question,
                "options": [
                    {"value": value, "label": _answer_label(value), "next": "dx_rank"}
                    for value in fact.answers
                ],
            }
        )
    return confirm, explore


def _answer_label(value: bool | str) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value).replace("_", " ").capitalize()
