import pytest

from tests.troubleshooting.playbook_helpers import clean_playbook
from troubleshooting import engine, runner
from troubleshooting.schema import parse_playbook


class ScriptedDriver:
    """Answers each node from a script, as a technician or the automated caller would."""

    def __init__(self, **script):
        self.script = script
        self.steps: list[runner.Step] = []

    def run_check(self, node, state):
        return runner.NodeResult(
            self.script[node.id], facts={"user_status": "active"}, evidence={"status": "active"}
        )

    def answer(self, node, state):
        return self.script[node.id]

    def instruct(self, node, state):
        return runner.NodeResult(engine.instruct_branch(self.script[node.id]))

    def verify(self, node, state):
        branch, reason = self.script[node.id].pop(0)
        return runner.NodeResult(branch, facts={"verify_reason": reason})

    action = subflow = None

    def record(self, step, state):
        self.steps.append(step)


def test_run_walks_to_the_end_and_records_every_step():
    driver = ScriptedDriver(
        status="active",
        ask=False,
        fix=True,
        verify=[("timeout", None), ("success", "user_approved")],
    )

    state = runner.run(parse_playbook(clean_playbook()), driver)

    assert (state.outcome, state.root_causes) == (
        "prompt_restored",
        ("push_notifications_disabled",),
    )
    assert [(s.node, s.branch, s.target) for s in driver.steps] == [
        ("status", "active", "ask"),
        ("ask", "false", "fix"),
        ("fix", "done", "verify"),
        ("verify", "timeout", "verify"),
        ("verify", "success", "pick"),
        ("pick", "when:0", "done"),
    ]
    decide = driver.steps[-1]
    assert (decide.kind, decide.condition_inputs, decide.error) == (
        "decide",
        {"verify_reason": "user_approved"},
        None,
    )
    assert driver.steps[0].evidence == {"status": "active"}
    assert driver.steps[1].options == ["true", "false"]


def test_run_bounded_loop_exits_through_on_exhausted():
    driver = ScriptedDriver(
        status="active", ask=False, fix=True, verify=[("denied", "no_response")] * 2
    )

    state = runner.run(parse_playbook(clean_playbook()), driver)

    assert (state.node, state.outcome) == ("esc", "escalated_tier2")


def test_run_past_max_steps_raises():
    driver = ScriptedDriver(status="active", ask=False, fix=True, verify=[("timeout", None)])

    with pytest.raises(runner.SessionRunaway, match="no end after 3 steps"):
        runner.run(parse_playbook(clean_playbook()), driver, max_steps=3)


def test_handoff_packet_of_an_escalation():
    definition = parse_playbook(clean_playbook())
    driver = ScriptedDriver(status="active", ask=True)

    state = runner.run(definition, driver)
    packet = runner.handoff(definition, state, driver.steps)

    assert packet == {
        "playbook": "mini",
        "outcome": "escalated_tier2",
        "queue": "tier2",
        "next_step": "Look at the auth log.",
        "root_causes": [],
        "path": [
            {"node": "status", "title": "Status", "branch": "active"},
            {"node": "ask", "title": "Notifications allowed?", "branch": "true"},
        ],
        "answers": {"notifications_enabled": True},
        "evidence": {"status": {"status": "active"}},
        "verified_sign_in": False,
        "identity_verified": False,
    }


def test_handoff_before_the_end_raises():
    definition = parse_playbook(clean_playbook())

    with pytest.raises(engine.EngineError):
        runner.handoff(definition, engine.start(definition), [])
