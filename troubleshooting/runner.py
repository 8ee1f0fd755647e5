"""Driving a session from start to end: the loop the wizard runs one node per request and
simulate_case runs in one go.

The engine (troubleshooting.engine) decides where to go; a Driver supplies what only the
outside world knows, node by node:

- run_check(node)  -> NodeResult with the check's outcome, evidence and facts
                      (DirectoryDriver does it with troubleshooting.checks.run_check);
- answer(node)     -> the caller's answer to a question;
- instruct(node)   -> whether the caller did what they were told;
- action(node)     -> the recovery action's outcome (done / blocked / error, or verified …);
- verify(node)     -> the sign-in attempt's result (success / denied / fraud / error /
                      timeout) and its reason;
- subflow(node)    -> the sub-playbook's end outcome and the root causes it named;
- record(step)     -> called after every step with a self-describing StepRecord-to-be (the
                      node as shown, the branch, evidence, condition inputs); the wizard
                      writes its StepRecord and TicketEvent here in one transaction,
                      simulate_case collects its "steps".

Decide nodes need no driver: the engine evaluates them against the facts gathered so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from troubleshooting import engine
from troubleshooting.checks import CheckContext, run_check
from troubleshooting.schema import (
    ActionNode,
    CheckNode,
    DecideNode,
    EndNode,
    InstructNode,
    PlaybookDefinition,
    QuestionNode,
    SubflowNode,
    VerifyNode,
)


@dataclass(frozen=True)
class NodeResult:
    """What the outside world answered at one node."""

    branch: str
    facts: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    named_causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step as a StepRecord would keep it: self-describing, so it reads the same after
    the playbook has changed."""

    node: str
    kind: str
    title: str
    prompt: str
    branch: str
    target: str
    evidence: dict[str, Any]
    facts: dict[str, Any]
    condition_inputs: dict[str, Any]
    error: str | None
    options: list[str]
    # A subflow node: the root causes the sub-playbook named.
    named_causes: tuple[str, ...] = ()


class Driver(Protocol):
    def run_check(self, node: CheckNode, state: engine.SessionState) -> NodeResult: ...
    def answer(self, node: QuestionNode, state: engine.SessionState) -> bool | str: ...
    def instruct(self, node: InstructNode, state: engine.SessionState) -> NodeResult: ...
    def action(self, node: ActionNode, state: engine.SessionState) -> NodeResult: ...
    def verify(self, node: VerifyNode, state: engine.SessionState) -> NodeResult: ...
    def subflow(self, node: SubflowNode, state: engine.SessionState) -> NodeResult: ...
    def record(self, step: Step, state: engine.SessionState) -> None: ...


class DirectoryDriver:
    """Runs check nodes against the directory and the MFA port; the rest is left to a
    subclass (the wizard asks the technician, simulate_case the automated caller)."""

    def __init__(self, context: CheckContext):
        self.context = context

    def run_check(self, node: CheckNode, state: engine.SessionState) -> NodeResult:
        result = run_check(node.check, self.context)
        return NodeResult(result.outcome, facts=result.facts, evidence=result.evidence)

    def record(self, step: Step, state: engine.SessionState) -> None:
        pass


class SessionRunaway(Exception):
    """The session took more steps than any playbook path can (a driver answering
    inconsistently with an unlinted playbook)."""


def advance(
    definition: PlaybookDefinition, state: engine.SessionState, driver: Driver
) -> engine.SessionState:
    """Runs the current node through the driver and steps the engine once."""
    node = definition.node(state.node)
    inputs: dict[str, Any] = {}
    error = None
    options = [edge.branch for edge in engine.branches(node) if edge.branch != engine.EXHAUSTED]
    if isinstance(node, DecideNode):
        decision = engine.decide(node, state.facts)
        result = NodeResult(decision.branch)
        inputs, error = decision.inputs, decision.error
    elif isinstance(node, CheckNode):
        result = driver.run_check(node, state)
    elif isinstance(node, QuestionNode):
        result = NodeResult(engine.answer_branch(node, driver.answer(node, state)))
    elif isinstance(node, InstructNode):
        result = driver.instruct(node, state)
    elif isinstance(node, ActionNode):
        result = driver.action(node, state)
    elif isinstance(node, VerifyNode):
        result = driver.verify(node, state)
    elif isinstance(node, SubflowNode):
        result = driver.subflow(node, state)
    else:
        raise engine.EngineError(f"node {node.id} is an end; the session is over")
    new_state = engine.step(
        definition, state, result.branch, facts=result.facts, named_causes=result.named_causes
    )
    driver.record(
        Step(
            node=node.id,
            kind=node.kind,
            title=node.title,
            prompt=node.prompt,
            branch=result.branch,
            target=engine.target_of(node, result.branch),
            evidence=result.evidence,
            facts=result.facts,
            condition_inputs=inputs,
            error=error,
            options=options,
            named_causes=tuple(result.named_causes),
        ),
        new_state,
    )
    return new_state


def run(
    definition: PlaybookDefinition,
    driver: Driver,
    *,
    base_facts: dict[str, Any] | None = None,
    max_steps: int = 400,
) -> engine.SessionState:
    """Runs a whole session to its end node. Raises SessionRunaway past `max_steps`."""
    state = engine.start(definition, base_facts)
    for _ in range(max_steps):
        if state.finished:
            return state
        state = advance(definition, state, driver)
    if state.finished:
        return state
    raise SessionRunaway(f"no end after {max_steps} steps (at {state.node})")


def handoff(
    definition: PlaybookDefinition, state: engine.SessionState, steps: list[Step]
) -> dict[str, Any]:
    """The handoff packet of an ended session (for an escalation: what the next queue
    reads first): queue and suggested next step, outcome and root causes, the path taken,
    the caller's answers and the evidence each check gathered. Plain JSON values."""
    end = definition.node(state.node)
    if not (state.finished and isinstance(end, EndNode)):
        raise engine.EngineError("the session has not ended")
    answers: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    for step in steps:
        node = definition.node_map().get(step.node)
        if isinstance(node, QuestionNode):
            answers[node.fact] = state.facts.get(node.fact)
        elif node is None and step.kind == "question":
            # A step inside a subflow: its record keeps the answer under the fact's name.
            answers.update(getattr(step, "facts", {}) or {})
        if step.evidence:
            evidence[step.node] = step.evidence
    return {
        "playbook": definition.id,
        "outcome": end.outcome,
        "queue": end.queue,
        "next_step": end.next_step,
        "root_causes": list(state.root_causes),
        "path": [{"node": step.node, "title": step.title, "branch": step.branch} for step in steps],
        "answers": answers,
        "evidence": evidence,
        "verified_sign_in": state.verified_sign_in,
        "identity_verified": state.identity_verified,
    }
