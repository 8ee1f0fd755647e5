import pytest

from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting import engine
from troubleshooting.schema import parse_playbook


def mini():
    return parse_playbook(clean_playbook())


def test_start_enters_the_start_node_with_base_facts():
    state = engine.start(mini(), {"complaint": "missing_prompt", "application": "VPN"})

    assert state.node == "status"
    assert state.facts == {"complaint": "missing_prompt", "application": "VPN"}
    assert state.visits == {"status": 1}
    assert state.finished is False


def test_walk_to_a_resolved_end_names_the_verified_fix():
    definition = mini()
    state = engine.start(definition)
    state = engine.step(definition, state, "active", facts={"user_status": "active"})
    answer = engine.answer_branch(definition.node("ask"), False)
    state = engine.step(definition, state, answer)
    state = engine.step(definition, state, engine.instruct_branch(True))

    assert state.pending_fixes == ("push_notifications_disabled",)
    assert state.root_causes == ()

    state = engine.step(definition, state, "success", facts={"verify_reason": "user_approved"})
    decision = engine.decide(definition.node("pick"), state.facts)
    state = engine.step(definition, state, decision.branch)

    assert decision == engine.Decision(
        "when:0", "done", {"verify_reason": "user_approved"}, matched=0
    )
    assert state.finished is True
    assert state.outcome == "prompt_restored"
    assert state.root_causes == ("push_notifications_disabled",)
    assert state.pending_fixes == ()
    assert state.verified_sign_in is True
    assert state.facts["notifications_enabled"] is False
    assert state.facts["verify_result"] == "success"
    assert state.path == (
        ("status", "active"),
        ("ask", "false"),
        ("fix", "done"),
        ("verify", "success"),
        ("pick", "when:0"),
    )


@pytest.mark.parametrize("reason", sorted(engine.HOLLOW_SUCCESS_REASONS))
def test_a_sign_in_through_without_a_factor_verifies_nothing(reason):
    definition = mini()
    state = engine.start(definition)
    state = engine.step(definition, state, "active", facts={"user_status": "active"})
    state = engine.step(definition, state, engine.answer_branch(definition.node("ask"), False))
    state = engine.step(definition, state, engine.instruct_branch(True))

    state = engine.step(definition, state, "success", facts={"verify_reason": reason})

    # The fix is still unproven: a session or a remembered device let the sign-in through.
    assert (state.verified_sign_in, state.root_causes, state.pending_fixes) == (
        False,
        (),
        ("push_notifications_disabled",),
    )
    assert state.facts["verify_reason"] == reason


def test_decide_first_true_condition_wins():
    data = clean_playbook()
    node(data, "pick")["conditions"] = [
        {"when": "verify_reason == 'a'", "next": "esc"},
        {"when": "true", "next": "sec"},
        {"when": "true", "next": "done"},
    ]
    decision = engine.decide(parse_playbook(data).node("pick"), {"verify_reason": "b"})

    assert (decision.branch, decision.target, decision.matched) == ("when:1", "sec", 1)


def test_decide_otherwise_when_nothing_matches():
    decision = engine.decide(mini().node("pick"), {"verify_reason": "remembered_device"})

    assert (decision.branch, decision.target, decision.error) == ("otherwise", "done", None)


def test_decide_evaluation_error_takes_the_error_branch():
    decision = engine.decide(mini().node("pick"), {})

    assert (decision.branch, decision.target) == ("on_error", "esc")
    assert decision.inputs == {"verify_reason": None}
    assert decision.error.startswith("'verify_reason == \"user_approved\"' could not be evaluated")


def test_max_visits_sends_the_third_entry_to_on_exhausted():
    definition = mini()
    state = engine.start(definition)
    for branch in ("active", "false", "done", "denied", "timeout"):
        state = engine.step(definition, state, branch)

    assert state.node == "esc"
    assert state.finished is True
    assert state.outcome == "escalated_tier2"
    assert state.path[-2:] == (("verify", "timeout"), ("verify", "exhausted"))
    assert state.visits["verify"] == 2


def test_step_unknown_branch_raises():
    definition = mini()

    with pytest.raises(engine.EngineError, match="node status has no branch 'sleepy'"):
        engine.step(definition, engine.start(definition), "sleepy")


def test_step_after_the_end_raises():
    definition = mini()
    state = engine.step(definition, engine.start(definition), "disabled")

    with pytest.raises(engine.EngineError, match="the session has ended"):
        engine.step(definition, state, "active")


def test_answer_branch_rejects_an_answer_not_offered():
    with pytest.raises(engine.EngineError):
        engine.answer_branch(mini().node("ask"), "sometimes")


def test_subflow_branch_maps_outcome_or_otherwise():
    data = clean_playbook()
    data["nodes"].append(
        {
            "id": "sub",
            "kind": "subflow",
            "title": "Sub",
            "playbook": "enrollment_failure",
            "outcomes": {"enrolled": "done"},
            "otherwise": "esc",
        }
    )
    sub = parse_playbook(data).node("sub")

    assert engine.subflow_branch(sub, "enrolled") == "enrolled"
    assert engine.subflow_branch(sub, "abandoned") == "otherwise"


def test_state_round_trips_through_json_values():
    definition = mini()
    state = engine.step(definition, engine.start(definition), "active", facts={"x": [1, 2]})

    assert engine.SessionState.from_dict(state.as_dict()) == state


def test_identity_verified_after_verify_identity_verified_branch():
    data = clean_playbook()
    node(data, "ask")["options"][1]["next"] = "identity"
    data["nodes"].append(
        {
            "id": "identity",
            "kind": "action",
            "title": "Verify the caller",
            "action": "verify_identity",
            "outcomes": {
                "verified": "fix",
                "not_verified": "esc",
                "error": "esc",
                "timeout": "esc",
            },
        }
    )
    definition = parse_playbook(data)
    state = engine.start(definition)
    for branch in ("active", "false"):
        state = engine.step(definition, state, branch)
    assert state.identity_verified is False

    state = engine.step(definition, state, "verified", facts={"identity_verified_by": "callback"})

    assert state.identity_verified is True
    assert state.node == "fix"


def test_enumerate_paths_lists_every_distinct_path_with_bounds():
    paths = engine.enumerate_paths(mini())

    fixed = "status[active] ask[false] fix[done]"
    assert [" ".join(f"{n}[{b}]" for n, b in p.steps) + f" {p.end}" for p in paths] == [
        "status[active] ask[true] esc",
        f"{fixed} verify[success] pick[when:0] done",
        f"{fixed} verify[success] pick[otherwise] done",
        f"{fixed} verify[success] pick[on_error] esc",
        f"{fixed} verify[denied|timeout] verify[success] pick[when:0] done",
        f"{fixed} verify[denied|timeout] verify[success] pick[otherwise] done",
        f"{fixed} verify[denied|timeout] verify[success] pick[on_error] esc",
        f"{fixed} verify[denied|timeout] verify[denied|timeout] verify[exhausted] esc",
        f"{fixed} verify[denied|timeout] verify[fraud] sec",
        f"{fixed} verify[denied|timeout] verify[error] esc",
        f"{fixed} verify[fraud] sec",
        f"{fixed} verify[error] esc",
        "status[active] ask[false] fix[not_done] esc",
        "status[pending_enrollment|bypass|locked_out|disabled|error|timeout] esc",
    ]


def test_enumerate_paths_past_the_bound_raises():
    with pytest.raises(engine.PathLimitExceeded):
        engine.enumerate_paths(mini(), max_paths=3)


def test_enumerate_paths_unbounded_loop_raises():
    data = clean_playbook()
    del node(data, "verify")["max_visits"]
    del node(data, "verify")["on_exhausted"]

    with pytest.raises(engine.PathLimitExceeded, match="is a loop unbounded"):
        engine.enumerate_paths(parse_playbook(data), max_length=30)
