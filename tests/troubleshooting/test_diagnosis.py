"""The diagnosis compiled from the root-cause catalog (troubleshooting.catalog.compile): a
bounded loop of evidence, rank, fix and verify, proved by its structure; and the engine
rules it relies on (lenient ranking, tried causes)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from troubleshooting import engine
from troubleshooting.actions import ACTIONS
from troubleshooting.catalog import load_catalog
from troubleshooting.catalog.compile import DIAGNOSIS_ID, compile_diagnosis
from troubleshooting.lint import lint_definition
from troubleshooting.schema import ActionNode, InstructNode, VerifyNode, parse_playbook


def test_the_compiled_diagnosis_lints_clean_by_its_structure():
    definition = compile_diagnosis()

    assert (definition.id, definition.proof) == (DIAGNOSIS_ID, "structure")
    assert lint_definition(definition, file="root_causes.yaml") == []


def test_every_fixable_cause_has_a_fix_followed_by_a_verify():
    definition = compile_diagnosis()
    fixable = [c for c in load_catalog().causes if c.fix.caller_action or c.fix.action]

    for cause in fixable:
        fixes = [
            n
            for n in definition.nodes
            if isinstance(n, InstructNode | ActionNode) and cause.id in n.fixes
        ]
        assert len(fixes) == 1, cause.id
        done = engine.target_of(fixes[0], "done")
        # Through the caller's steps that finish the fix (scan the new code …), if any.
        finishing = []
        while isinstance(definition.node(done), InstructNode):
            finishing.append(definition.node(done).caller_action)
            done = definition.node(done).done
        assert finishing == list(cause.fix.then), cause.id
        assert isinstance(definition.node(done), VerifyNode), cause.id


def test_every_identity_guarded_fix_is_entered_through_a_verified_identity():
    definition = compile_diagnosis()
    into = {}
    for node in definition.nodes:
        for edge in engine.branches(node):
            into.setdefault(edge.target, []).append((node, edge.branch))

    guarded = [n for n in definition.nodes if engine.requires_identity(n)]

    assert {n.action for n in guarded} >= {"unlock_user", "re_enroll"}
    for node in guarded:
        assert [(src.action, branch) for src, branch in into[node.id]] == [
            ("verify_identity", "verified")
        ], node.id
    assert all(ACTIONS[n.action].requires_identity for n in guarded)


def _compiled_data() -> dict:
    return compile_diagnosis().model_dump(mode="json", exclude_defaults=False)


def test_the_structure_proof_rejects_a_fix_that_skips_its_verify():
    data = _compiled_data()
    fix = next(n for n in data["nodes"] if n["id"] == "dx_fix_push_notifications_disabled")
    fix["done"] = "dx_end_prompt_restored"

    findings = lint_definition(parse_playbook(data), file="x")

    assert {(f.node, f.code) for f in findings} == {
        ("dx_fix_push_notifications_disabled", "unverified-remediation"),
        ("dx_end_prompt_restored", "unverified-resolution"),
        ("dx_verify_push_notifications_disabled", "unreachable"),
    }


def test_the_structure_proof_rejects_recovery_without_identity():
    data = _compiled_data()
    ask = next(n for n in data["nodes"] if n["id"] == "dx_ask_has_device")
    ask["options"][0]["next"] = "dx_act_user_locked_out"

    findings = lint_definition(parse_playbook(data), file="x")

    assert [(f.node, f.code) for f in findings] == [
        ("dx_act_user_locked_out", "identity-not-verified")
    ]


def test_ranking_takes_the_first_supported_cause_not_ruled_out_or_tried():
    rank = compile_diagnosis().node("dx_rank")
    facts = {
        "user_status": "active",
        "open_fraud_signals": 0,
        "authenticator_active_methods": ["push"],
        "notifications_enabled": False,
    }

    first = engine.decide(rank, facts)
    # The caller already said notifications are off: no question, the fix.
    again = engine.decide(rank, {**facts, engine.TRIED_CAUSES: ["push_notifications_disabled"]})

    assert first.target == "dx_fix_push_notifications_disabled"
    assert again.target != "dx_fix_push_notifications_disabled"


def test_ranking_asks_the_telling_question_when_the_evidence_cannot_say():
    rank = compile_diagnosis().node("dx_rank")
    facts = {
        "user_status": "active",
        "open_fraud_signals": 0,
        "authenticator_active_methods": ["push"],
        "device_push_capable": True,
        "device_last_seen_hours": 30.0,
        "last_auth_reason": "no_response",
    }

    decision = engine.decide(rank, facts)

    # Not seen for a day and no answer: offline is suspected, so the caller is asked whether
    # the phone is online before anything is changed; seen recently: notifications.
    assert decision.target == "dx_ask_device_online"
    asked = engine.decide(rank, {**facts, "device_last_seen_hours": 0.5})
    assert asked.target == "dx_ask_notifications_enabled"
    answered = engine.decide(rank, {**facts, "device_online": False})
    assert answered.target == "dx_fix_device_offline"


# --- Sessions that enter the diagnosis ------------------------------------------------------

# A caller who says they are locked out, whose email codes are filtered as spam: the
# lockout playbook finds no lockout and would hand over; the diagnosis finds the filter.
LOCKED_OUT_BUT_FILTERED = """
id: says-locked-out-email-filtered
complaint: locked_out
user:
  username: nia.lopez
  email: nia.lopez@example.com
  mobile: "+14155555228"
devices: []
authenticators:
  - method: email
    status: active
policies:
  - scope: global
    default_method: email
providers:
  email: {sender_filtered: true}
"""


def _simulate(tmp_path, text: str) -> dict:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("simulate_case", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_an_escalation_with_no_cause_is_diagnosed_and_the_second_look_fixes_it(tmp_path):
    report = _simulate(tmp_path, LOCKED_OUT_BUT_FILTERED)

    taken = [(s["node"], s["result"]) for s in report["steps"]]
    assert report["playbook"] == "locked_out"
    assert ("dx_fix_email_code_filtered", "done") in taken
    assert (report["outcome"], report["root_causes"]) == (
        "code_accepted",
        ["email_code_filtered"],
    )
    assert (report["verified_sign_in"], report["bypass_issued"]) == (True, False)
    assert report["audit_chain_ok"] is True
