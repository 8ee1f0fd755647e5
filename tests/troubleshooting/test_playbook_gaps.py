"""The enrollment, prompt and lost-device playbooks where one situation used to end in an
escalation: a locked-out caller who phones about enrollment is unlocked through the lockout
playbook and then finishes enrolling; a required enrollment never asked for because an
earlier session is still open (the sign-in goes through with no prompt) is ended by
signing out, and the new setup proved with a fresh sign-in. Every enumerated path through
the new nodes walks to its end, and the scenarios for each situation reach their expected
end through simulate_case. A missing prompt under a policy that accepts only its default
method (fallback off) is explained, re-enrolled with that method, or escalated. A caller
replacing a phone that is not lost (still in hand, or wiped) is moved to the new phone
without anything being marked lost."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from authsim import caller
from authsim.scenarios import SCENARIO_DIR, read_scenario
from enrollment.mfa import get_mfa_service
from tests.authsim.helpers import load
from tests.troubleshooting.playbook_helpers import definition, paths
from troubleshooting import engine
from troubleshooting.checks import CheckContext, run_check
from troubleshooting.lint import lint_paths
from troubleshooting.schema import SubflowNode
from troubleshooting.vocab import RESOLVED_OUTCOMES


def _walk(playbook_id: str, path, named=("enrollment_incomplete",)):
    d = definition(playbook_id)
    state = engine.start(d, {"complaint": playbook_id, "application": None})
    for node_id, label in path.steps:
        if label == engine.EXHAUSTED:
            continue
        assert state.node == node_id
        causes = named if isinstance(d.node(node_id), SubflowNode) else ()
        state = engine.step(d, state, engine.first_branch(label), named_causes=causes)
    return state


def _paths_through(playbook_id: str, node_id: str):
    return [path for path in paths(playbook_id) if node_id in path.nodes]


def test_the_playbooks_lint_clean_with_no_subflow_cycle():
    report = lint_paths()

    assert [str(finding) for finding in report.findings] == []
    calls = {
        playbook_id: {n.playbook for n in d.nodes if isinstance(n, SubflowNode)}
        for playbook_id, d in report.definitions.items()
    }
    assert "locked_out" in calls["enrollment_failure"]
    assert calls["locked_out"] == set()


# --- A locked-out caller who phones about enrollment -----------------------------------------


def test_enrollment_hands_a_locked_account_to_the_lockout_playbook_and_carries_on():
    d = definition("enrollment_failure")
    lockout = d.node(d.node("status").outcomes["locked_out"])

    assert (lockout.kind, lockout.playbook) == ("subflow", "locked_out")
    assert lockout.otherwise == "status_after_lockout"
    after = d.node("status_after_lockout")
    assert after.check == "user_status_now"
    # Unlocked: the enrollment checks run from the top (fraud, policy, stage ...).
    assert {after.outcomes[s] for s in ("active", "pending_enrollment", "bypass")} == {"fraud"}
    assert d.node(after.outcomes["locked_out"]).root_causes == ["user_locked_out"]


def test_every_path_through_the_lockout_handover_walks_to_its_end():
    handed = _paths_through("enrollment_failure", "lockout")
    assert len(handed) > 20
    ends = set()
    for path in handed:
        state = _walk("enrollment_failure", path, named=("user_locked_out",))
        end = definition("enrollment_failure").node(path.end)
        assert (state.finished, state.outcome) == (True, end.outcome)
        if end.outcome in RESOLVED_OUTCOMES:
            assert state.verified_sign_in is True, path
            assert "user_locked_out" in state.root_causes, path
        ends.add(path.end)
    assert {
        "end_enrolled",
        "end_prompt_restored",
        "end_access_restored",
        "end_locked_out",
        "end_security_handoff",
    } <= ends


def test_locked_out_names_the_lockout_when_the_setup_is_unfinished_and_enrolls_by_itself():
    d = definition("locked_out")
    unlocked = d.node("end_unlocked_enroll")
    assert (unlocked.outcome, unlocked.root_causes) == ("escalated_tier2", ["user_locked_out"])
    for path in _paths_through("locked_out", "end_unlocked_enroll"):
        nodes = list(path.nodes)
        assert nodes.index("identity_unlock") < nodes.index("unlock") < nodes.index("unlocked_why")
    # A never-enrolled caller gets the first invitation here, proved by a sign-in.
    enrolled = [p for p in _paths_through("locked_out", "enrollment") if p.end == "end_enrolled"]
    assert enrolled
    for path in enrolled:
        state = _walk("locked_out", path)
        assert state.verified_sign_in is True
        assert "no_authenticator" in state.root_causes


# --- Required, yet never asked to enroll: a session still open --------------------------------


def test_a_sign_in_with_no_prompt_is_not_taken_as_proof_of_the_new_setup():
    d = definition("enrollment_failure")
    assert d.node("verify").outcomes["success"] == "proved"
    proved = d.node("proved")
    assert proved.conditions[0].when == 'verify_reason == "valid_session"'
    assert (proved.conditions[0].next, proved.otherwise) == ("sign_out", "end_enrolled")
    sign_out = d.node("sign_out")
    assert (sign_out.caller_action, sign_out.fixes) == (
        "sign_out_and_in",
        ["enrollment_not_enforced"],
    )
    assert d.node(sign_out.done).kind == "verify"


def test_every_path_through_the_sign_out_proves_it_with_a_fresh_sign_in():
    through = _paths_through("enrollment_failure", "sign_out")
    assert through
    ends = set()
    for path in through:
        state = _walk("enrollment_failure", path)
        nodes = list(path.nodes)
        assert nodes.index("verify") < nodes.index("proved") < nodes.index("sign_out")
        if path.end == "end_enrolled":
            assert nodes[nodes.index("sign_out") + 1] == "verify_fresh"
            assert state.verified_sign_in is True
            assert "enrollment_not_enforced" in state.root_causes
        ends.add(path.end)
    assert {"end_enrolled", "end_session_open", "end_escalate", "end_fraud"} <= ends


# --- Fallback methods switched off, seen from a missing prompt -----------------------------


def test_the_prompt_playbook_tells_the_three_fallback_cases_apart():
    d = definition("missing_prompt")
    success = {c.next: c.when for c in d.node("why_success").conditions}
    assert "!policy_allow_fallback" in success["end_fallback"]
    denied = [c.next for c in d.node("why_denied").conditions]
    # The fallback cases are told apart before the generic "policy refuses the method".
    assert denied.index("identity_fallback") < denied.index("end_fallback_policy")
    assert denied.index("end_fallback_policy") < denied.index("end_policy")
    for end in ("end_fallback", "end_fallback_policy"):
        assert d.node(end).root_causes == ["fallback_disabled"]
    assert d.node("end_fallback").outcome == "working_as_designed"
    assert d.node("end_fallback_policy").outcome == "escalated_tier2"


def test_every_path_through_the_fallback_re_enrollment_verifies_identity_first():
    through = _paths_through("missing_prompt", "reenroll_fallback")
    assert through
    ends = set()
    for path in through:
        state = _walk("missing_prompt", path)
        steps = list(path.steps)
        nodes = [node for node, _ in steps]
        assert steps[nodes.index("identity_fallback")][1] == "verified"
        if path.end == "end_re_enrolled":
            assert state.verified_sign_in is True
            assert "fallback_disabled" in state.root_causes
        ends.add(path.end)
    assert {"end_re_enrolled", "end_fallback_policy", "end_bypass", "end_escalate"} <= ends


# --- A replacement phone, the old one not lost ---------------------------------------------


def test_a_working_or_wiped_old_phone_with_a_new_one_on_record_is_moved_not_marked_lost():
    d = definition("lost_device")
    found = d.node("test_found")
    assert (found.outcomes["success"], found.outcomes["denied"]) == ("new_phone", "found_delivery")
    assert d.node("found_delivery").outcomes["failed"] == "wiped_new_phone"
    for node_id in ("new_phone", "wiped_new_phone"):
        assert d.node(node_id).check == "replacement_device"
        assert d.node(node_id).outcomes["new_device"] == "fraud_move"
    assert d.node("new_phone").outcomes["none"] == "end_found"
    assert d.node("wiped_new_phone").outcomes["none"] == "mark_lost"


def test_every_path_through_the_move_verifies_identity_and_never_marks_anything_lost():
    through = _paths_through("lost_device", "move")
    assert through
    ends = set()
    for path in through:
        state = _walk("lost_device", path)
        nodes = list(path.nodes)
        assert {"mark_lost", "bypass"}.isdisjoint(nodes), path
        assert nodes.index("fraud_move") < nodes.index("identity_move") < nodes.index("move")
        if path.end == "end_moved":
            assert nodes[-2] == "verify_new"
            assert (state.outcome, state.verified_sign_in) == ("re_enrolled", True)
            assert "lost_device" not in state.root_causes
            assert "enrollment_incomplete" in state.root_causes
        ends.add(path.end)
    assert {"end_moved", "end_escalate", "end_fraud"} <= ends


# --- The scenarios, worked end to end ----------------------------------------------------------

SCENARIOS = {
    "user-locked-out-ef": ("lockout", "enrolled"),
    "user-locked-out-ef-ios-new-devices": ("lockout", "enrolled"),
    "user-locked-out-ef-never-enrolled": ("lockout", "enrolled"),
    "user-locked-out-ef-enrolled-codes": ("lockout", "code_accepted"),
    "enrollment-not-enforced-open-session": ("sign_out", "enrolled"),
    "enrollment-not-enforced-open-session-android": ("sign_out", "enrolled"),
    "enrollment-not-enforced-open-session-new-devices": ("sign_out", "enrolled"),
    "fallback-disabled-mp-default-sms": ("why_success", "working_as_designed"),
    "fallback-disabled-mp-default-totp-android": ("reenroll_fallback", "re_enrolled"),
    "fallback-disabled-mp-default-voice": ("why_denied", "escalated_tier2"),
    "replacement-phone-old-in-hand": ("move", "re_enrolled"),
    "replacement-phone-old-wiped": ("move", "re_enrolled"),
    "replacement-phone-new-devices-policy": ("move", "re_enrolled"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_reaches_its_end_through_the_new_nodes(name):
    path = SCENARIO_DIR / f"{name}.yaml"
    expected = read_scenario(path).expected
    node, outcome = SCENARIOS[name]
    out = StringIO()

    call_command("simulate_case", str(path), "--json", stdout=out)
    report = json.loads(out.getvalue())

    taken = [step["node"] for step in report["steps"]]
    assert node in taken, taken
    assert (expected.outcome, report["outcome"]) == (outcome, outcome)
    assert expected.root_cause in report["root_causes"], taken
    assert report["verified_sign_in"] is (outcome != "escalated_tier2")
    assert report["bypass_issued"] is False
    assert report["audit_chain_ok"] is True
    if node == "move":
        assert "mark_lost" not in taken
        assert "lost_device" not in report["root_causes"]


# --- The checks the new nodes read -------------------------------------------------------------


def _context(user):
    return CheckContext.build(user, mfa=get_mfa_service())


@pytest.mark.django_db
def test_replacement_device_finds_a_held_phone_with_no_authenticator():
    _, user = load("replacement-phone-old-in-hand")

    result = run_check("replacement_device", _context(user))

    assert (result.outcome, result.facts) == (
        "new_device",
        {"new_device_count": 1, "new_device_platforms": ["android"]},
    )
    assert result.evidence["devices_with_authenticators"] == ["Sofia's old iPhone"]


@pytest.mark.django_db
def test_replacement_device_finds_nothing_for_a_single_enrolled_phone():
    _, user = load("user-locked-out")

    result = run_check("replacement_device", _context(user))

    assert (result.outcome, result.facts["new_device_count"]) == ("none", 0)


@pytest.mark.django_db
def test_the_caller_reaches_for_the_newest_phone_they_hold():
    _, user = load("replacement-phone-old-in-hand")

    phone = caller.primary_device(user)

    assert (phone.platform, phone.authenticators.count()) == ("android", 0)


@pytest.mark.django_db
def test_user_status_now_reads_the_directory_again_after_an_unlock():
    _, user = load("user-locked-out")
    context = _context(user)
    assert run_check("user_status", context).outcome == "locked_out"

    get_mfa_service().unlock_user(end_user_id=user.pk)

    assert run_check("user_status", context).outcome == "locked_out"  # the session's copy
    result = run_check("user_status_now", context)
    assert (result.outcome, result.facts["user_status"]) == ("active", "active")
    assert run_check("user_status", context).outcome == "active"
