"""The engine: pure logic that walks a playbook definition.

Nothing here touches HTTP, the database or the MFA service. The wizard (a GuidedSession with
its StepRecords) and simulate_case both drive the same functions:

1. `start(definition, base_facts)` -> a SessionState at the start node.
2. At each node the driver produces the node's *branch*: a check's outcome (run it with
   troubleshooting.checks.run_check), the answer to a question (`answer_branch`), a decide
   node's first matching condition (`decide`), whether an instruction was done
   (`instruct_branch`), an action's or verify's outcome, a subflow's end outcome
   (`subflow_branch`).
3. `step(definition, state, branch, facts=…)` records the branch, merges the new facts and
   moves to the target node, following a node's `on_exhausted` exit when its `max_visits`
   bound is spent. At an end node the state is finished and carries the root causes named.

Root causes are named in two ways: an end node lists them, and a remediation (an instruct or
action node with `fixes`) names its causes once a later verify sees a successful sign-in —
so a shared "activate, then verify" tail can serve many causes.

`branches(node)` lists every branch of a node and `enumerate_paths()` every path through a
playbook (bounded); the linter proves its path properties over them and the tests walk them.
SessionState is plain data (`as_dict` / `from_dict`) so a GuidedSession can keep it in a
JSONField, or rebuild it by replaying its current StepRecords through `step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from troubleshooting import cel
from troubleshooting.actions import ACTIONS
from troubleshooting.questions import QUESTION_FACTS
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
from troubleshooting.vocab import CHECK_ERROR, CHECK_UNKNOWN, RESOLVED_OUTCOMES

EXHAUSTED = "exhausted"
OTHERWISE = "otherwise"
ON_ERROR = "on_error"
DONE = "done"
NOT_DONE = "not_done"

# Facts every session starts with.
BASE_FACTS: tuple[str, ...] = ("complaint", "application")
# Facts a verify node sets: the attempt's result and reason, for decide nodes after it.
VERIFY_FACTS: tuple[str, ...] = ("verify_result", "verify_reason", "verify_factor")
# The causes whose fix was tried without a successful sign-in after it (a fact conditions
# read: the diagnosis does not try the same fix twice).
TRIED_CAUSES = "tried_causes"
# Reasons a sign-in goes through without the user's second factor being asked for: a
# still-valid session, a remembered device, a policy that lets it through. Such a success
# says nothing about the factor, so it never verifies a fix (scenarios.md, verified_sign_in).
HOLLOW_SUCCESS_REASONS: frozenset[str] = frozenset(
    {"valid_session", "remembered_device", "allowed_by_policy"}
)

# A guard against a playbook whose on_exhausted exits chain into each other for ever (the
# linter rejects those; the engine still must not hang on an unlinted definition).
_MAX_REDIRECTS = 50


class EngineError(Exception):
    """The driver asked for something the playbook does not allow (a bad branch, a step on a
    finished session). Never raised for a check or condition failure: those are branches."""


@dataclass(frozen=True)
class Edge:
    branch: str
    target: str


@dataclass(frozen=True)
class SessionState:
    """Where a session stands. Immutable; `step` returns a new one."""

    node: str
    facts: dict[str, Any] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    # (node id, branch) pairs in order, including `exhausted` redirects.
    path: tuple[tuple[str, str], ...] = ()
    root_causes: tuple[str, ...] = ()
    # Causes named by remediations not yet confirmed by a successful verify.
    pending_fixes: tuple[str, ...] = ()
    identity_verified: bool = False
    verified_sign_in: bool = False
    finished: bool = False
    outcome: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "facts": dict(self.facts),
            "visits": dict(self.visits),
            "path": [list(pair) for pair in self.path],
            "root_causes": list(self.root_causes),
            "pending_fixes": list(self.pending_fixes),
            "identity_verified": self.identity_verified,
            "verified_sign_in": self.verified_sign_in,
            "finished": self.finished,
            "outcome": self.outcome,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        return cls(
            node=data["node"],
            facts=dict(data.get("facts", {})),
            visits=dict(data.get("visits", {})),
            path=tuple(tuple(pair) for pair in data.get("path", [])),
            root_causes=tuple(data.get("root_causes", [])),
            pending_fixes=tuple(data.get("pending_fixes", [])),
            identity_verified=bool(data.get("identity_verified", False)),
            verified_sign_in=bool(data.get("verified_sign_in", False)),
            finished=bool(data.get("finished", False)),
            outcome=data.get("outcome"),
        )


# --- The branches of each node kind --------------------------------------------------------


def branches(node: Any) -> list[Edge]:
    """Every branch leaving `node`, in the order the file gives them (the `exhausted` exit of
    a bounded node last)."""
    if isinstance(node, CheckNode | ActionNode | VerifyNode):
        edges = [Edge(name, target) for name, target in node.outcomes.items()]
    elif isinstance(node, QuestionNode):
        edges = [Edge(answer_key(option.value), option.next) for option in node.options]
    elif isinstance(node, DecideNode):
        edges = [Edge(f"when:{index}", cond.next) for index, cond in enumerate(node.conditions)]
        edges += [Edge(OTHERWISE, node.otherwise), Edge(ON_ERROR, node.on_error)]
    elif isinstance(node, InstructNode):
        edges = [Edge(DONE, node.done), Edge(NOT_DONE, node.not_done)]
    elif isinstance(node, SubflowNode):
        edges = [Edge(name, target) for name, target in node.outcomes.items()]
        edges.append(Edge(OTHERWISE, node.otherwise))
    elif isinstance(node, EndNode):
        edges = []
    else:  # pragma: no cover - the schema admits no other kind
        raise EngineError(f"unknown node kind {type(node).__name__}")
    if node.on_exhausted is not None:
        edges.append(Edge(EXHAUSTED, node.on_exhausted))
    return edges


def answer_key(value: bool | str) -> str:
    """The branch name of a question answer: "true"/"false" for yes/no, the choice itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def answer_branch(node: QuestionNode, value: bool | str) -> str:
    """The branch for the caller's answer. Raises EngineError for an answer not offered."""
    for option in node.options:
        if type(option.value) is type(value) and option.value == value:
            return answer_key(value)
    raise EngineError(f"{value!r} is not an answer node {node.id} offers")


def instruct_branch(done: bool) -> str:
    return DONE if done else NOT_DONE


def subflow_branch(node: SubflowNode, outcome: str) -> str:
    """The branch a subflow takes when its playbook ended with `outcome`."""
    return outcome if outcome in node.outcomes else OTHERWISE


@dataclass(frozen=True)
class Decision:
    """What a decide node chose and why: the branch, the facts its conditions read (as the
    step record keeps them) and the evaluation error, if any."""

    branch: str
    target: str
    inputs: dict[str, Any]
    error: str | None = None
    matched: int | None = None


def decide(node: DecideNode, facts: dict[str, Any]) -> Decision:
    """Evaluates the conditions in order; the first true one wins, else `otherwise`. A
    condition that cannot be evaluated sends the session down `on_error` — never raises."""
    inputs: dict[str, Any] = {}
    lenient = node.unknown_is_false
    if lenient:
        # A question nobody asked yet reads as null (so `fact == null` asks it); no cause
        # tried yet is an empty list.
        facts = {**dict.fromkeys(QUESTION_FACTS), TRIED_CAUSES: [], **facts}
    for index, condition in enumerate(node.conditions):
        try:
            for expression in (condition.when, condition.unless or ""):
                for name in sorted(cel.referenced_facts(expression) if expression else ()):
                    if name in facts or not lenient:
                        inputs[name] = facts.get(name)
            matched = _holds(condition.when, facts, lenient, unknown=False)
            if matched and condition.unless:
                matched = not _holds(condition.unless, facts, lenient, unknown=False)
        except cel.ConditionError as exc:
            return Decision(ON_ERROR, node.on_error, inputs, error=str(exc))
        if matched:
            return Decision(f"when:{index}", condition.next, inputs, matched=index)
    return Decision(OTHERWISE, node.otherwise, inputs)


def _holds(expression: str, facts: dict[str, Any], lenient: bool, *, unknown: bool) -> bool:
    """Whether `expression` holds; in a lenient node one that cannot be evaluated with the
    facts known yet is `unknown` instead of an error."""
    try:
        return cel.evaluate(expression, facts)
    except cel.ConditionEvaluationError:
        if lenient:
            return unknown
        raise


def target_of(node: Any, branch: str) -> str:
    for edge in branches(node):
        if edge.branch == branch:
            return edge.target
    if branch == CHECK_UNKNOWN and isinstance(node, CheckNode):
        # The service does not report this check's data: move on by the branch the check
        # declares for it (or the node's error branch), recorded as `unknown`.
        from troubleshooting.checks import unknown_moves_on_by

        fallback = unknown_moves_on_by(node.check) or CHECK_ERROR
        return target_of(node, fallback)
    raise EngineError(f"node {node.id} has no branch {branch!r}")


# --- Facts and flags a step sets -----------------------------------------------------------


def facts_set_by(node: Any) -> frozenset[str]:
    """The fact names passing through `node` may set (for the linter's data flow)."""
    # The check registry imports the directory's models; the rest of the engine does not.
    from troubleshooting.checks import registry

    if isinstance(node, CheckNode):
        return frozenset(registry.get(node.check).facts) if node.check in registry else frozenset()
    if isinstance(node, QuestionNode):
        return frozenset({node.fact})
    if isinstance(node, VerifyNode):
        return frozenset(VERIFY_FACTS)
    if isinstance(node, ActionNode):
        spec = ACTIONS.get(node.action)
        return frozenset(spec.facts) if spec else frozenset()
    return frozenset()


def is_remediation(node: Any) -> bool:
    """A node that fixes something: an instruct or action with `fixes`, or an action the
    registry declares a remediation."""
    if isinstance(node, InstructNode):
        return bool(node.fixes)
    if isinstance(node, ActionNode):
        spec = ACTIONS.get(node.action)
        return bool(node.fixes) or bool(spec and spec.remediation)
    return False


def remediation_branch(node: Any) -> str:
    """The branch through which a remediation counts as applied."""
    return DONE


def identity_branch(node: Any) -> str | None:
    """The branch that establishes the caller's identity, when `node` can."""
    if isinstance(node, ActionNode):
        spec = ACTIONS.get(node.action)
        return spec.verifies_identity_via if spec else None
    return None


def requires_identity(node: Any) -> bool:
    if isinstance(node, ActionNode):
        spec = ACTIONS.get(node.action)
        return bool(spec and spec.requires_identity)
    return False


# --- Walking -------------------------------------------------------------------------------


def start(definition: PlaybookDefinition, base_facts: dict[str, Any] | None = None) -> SessionState:
    """A new session state at the playbook's start node."""
    facts = dict.fromkeys(BASE_FACTS)
    facts.update(base_facts or {})
    return _enter(definition, SessionState(node=definition.start, facts=facts), definition.start)


def step(
    definition: PlaybookDefinition,
    state: SessionState,
    branch: str,
    *,
    facts: dict[str, Any] | None = None,
    named_causes: tuple[str, ...] | list[str] = (),
) -> SessionState:
    """Leaves the current node through `branch`, merging `facts` (a check's facts; a
    question's answer is added here under the question's fact name; a verify's result and
    reason are added as verify_result / verify_reason when the driver passes them).

    `named_causes`: for a subflow, the root causes its session named; a subflow that ended
    with a resolved outcome also counts as a successful verify (its own playbook proved it).

    Raises EngineError for a finished session or a branch the node does not have."""
    if state.finished:
        raise EngineError("the session has ended")
    node = definition.node(state.node)
    target = target_of(node, branch)
    new_facts = dict(state.facts)
    new_facts.update(facts or {})
    if isinstance(node, QuestionNode):
        for option in node.options:
            if answer_key(option.value) == branch:
                new_facts[node.fact] = option.value
    if isinstance(node, VerifyNode):
        new_facts["verify_result"] = (facts or {}).get("verify_result", branch)

    pending = state.pending_fixes
    causes = state.root_causes
    verified = state.verified_sign_in
    tried = list(new_facts.get(TRIED_CAUSES) or [])
    if is_remediation(node) and branch != remediation_branch(node):
        # The caller could not do it, or a guard refused the action: tried, not fixed.
        tried += [cause for cause in getattr(node, "fixes", ()) if cause not in tried]
    if isinstance(node, InstructNode) and branch == NOT_DONE:
        # The caller could not finish the fix in progress (scan the new code …): tried.
        tried += [cause for cause in state.pending_fixes if cause not in tried]
    if is_remediation(node) and branch == remediation_branch(node):
        fixes = tuple(getattr(node, "fixes", ()))
        pending = pending + tuple(cause for cause in fixes if cause not in pending)
        verified = False  # a fix must be verified again
    if isinstance(node, VerifyNode):
        hollow = (facts or {}).get("verify_reason") in HOLLOW_SUCCESS_REASONS
        if branch == "success" and not hollow:
            causes = causes + tuple(cause for cause in pending if cause not in causes)
            pending = ()
            verified = True
        else:
            verified = False
            # The fixes so far did not bring the sign-in back: tried, still unproven.
            tried += [cause for cause in pending if cause not in tried]
    if tried:
        new_facts[TRIED_CAUSES] = tried
    if isinstance(node, SubflowNode):
        causes = causes + tuple(cause for cause in named_causes if cause not in causes)
        if branch in RESOLVED_OUTCOMES:
            causes = causes + tuple(cause for cause in pending if cause not in causes)
            pending = ()
            verified = True
    identity = state.identity_verified or (
        identity_branch(node) is not None and branch == identity_branch(node)
    )
    moved = replace(
        state,
        facts=new_facts,
        path=(*state.path, (node.id, branch)),
        root_causes=causes,
        pending_fixes=pending,
        identity_verified=identity,
        verified_sign_in=verified,
    )
    return _enter(definition, moved, target)


def _enter(definition: PlaybookDefinition, state: SessionState, node_id: str) -> SessionState:
    path = state.path
    visits = dict(state.visits)
    for _ in range(_MAX_REDIRECTS):
        node = definition.node(node_id)
        count = visits.get(node_id, 0)
        if node.max_visits is not None and count >= node.max_visits:
            path = (*path, (node_id, EXHAUSTED))
            node_id = node.on_exhausted
            continue
        visits[node_id] = count + 1
        state = replace(state, node=node_id, visits=visits, path=path)
        if isinstance(node, EndNode):
            causes = state.root_causes + tuple(
                cause for cause in node.root_causes if cause not in state.root_causes
            )
            state = replace(state, finished=True, outcome=node.outcome, root_causes=causes)
        return state
    raise EngineError(f"on_exhausted exits loop without end near node {node_id}")


# --- Path enumeration ----------------------------------------------------------------------


class PathLimitExceeded(Exception):
    """The playbook has more paths (or longer ones) than the bound allows."""


@dataclass(frozen=True)
class Path:
    """One path from the start to an end: the (node, branch) steps and the end node."""

    steps: tuple[tuple[str, str], ...]
    end: str

    @property
    def nodes(self) -> tuple[str, ...]:
        return (*tuple(node for node, _ in self.steps), self.end)


def enumerate_paths(
    definition: PlaybookDefinition, *, max_paths: int = 20000, max_length: int = 400
) -> list[Path]:
    """Every distinct path from the start node to an end node, honouring `max_visits` bounds
    exactly as `step` does (decide conditions are not evaluated: every branch counts as
    possible). Branches of one node with the same target and effect are followed once, as a
    step labelled "a|b" (see branch_groups).

    Assumes targets exist (run the linter's structural rules first). Raises
    PathLimitExceeded past `max_paths` paths or a path longer than `max_length` steps (an
    unbounded loop)."""
    paths: list[Path] = []
    first = start(definition)
    stack: list[SessionState] = [first]
    while stack:
        state = stack.pop()
        if state.finished:
            paths.append(Path(state.path, state.node))
            if len(paths) > max_paths:
                raise PathLimitExceeded(f"more than {max_paths} paths")
            continue
        if len(state.path) > max_length:
            raise PathLimitExceeded(
                f"a path longer than {max_length} steps (through {state.node}): is a loop "
                "unbounded?"
            )
        node = definition.node(state.node)
        for group in reversed(branch_groups(node)):
            moved = step(definition, state, group[0])
            if len(group) > 1:
                # Relabel the step just taken with every branch of the group.
                at = len(state.path)
                path = list(moved.path)
                path[at] = (node.id, "|".join(group))
                moved = replace(moved, path=tuple(path))
            stack.append(moved)
    return paths


def branch_groups(node: Any) -> list[tuple[str, ...]]:
    """The node's choosable branches, grouped when they lead to the same node with the same
    effect on the session (a check's `error` and `timeout` both escalating, say). Paths that
    differ only inside a group are the same path for every property the linter proves, so
    enumeration follows each group once and labels it "error|timeout"."""
    groups: dict[tuple, list[str]] = {}
    for edge in branches(node):
        if edge.branch == EXHAUSTED:
            continue  # taken by _enter when the bound is spent, never chosen
        effect = (
            edge.target,
            is_remediation(node) and edge.branch == remediation_branch(node),
            isinstance(node, VerifyNode) and edge.branch == "success",
            identity_branch(node) == edge.branch,
            isinstance(node, QuestionNode | DecideNode),  # answers and conditions set facts
            edge.branch if isinstance(node, SubflowNode | QuestionNode | DecideNode) else "",
        )
        groups.setdefault(effect, []).append(edge.branch)
    return [tuple(group) for group in groups.values()]


def first_branch(label: str) -> str:
    """The representative branch of an enumerated step's label ("error|timeout" -> "error")."""
    return label.split("|", 1)[0]
