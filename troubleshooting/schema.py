"""The playbook file format: pydantic models that reject unknown keys.

A playbook is a YAML file in troubleshooting/playbooks/: an id, the complaint it serves, a
title, version notes, the start node and a list of nodes. Each node has a `kind`:

- check:    runs a registered check; `outcomes` maps each declared outcome, plus `error` and
            `timeout`, to a node.
- question: asks the caller about a named fact they can observe; every option has a target.
- decide:   ordered CEL conditions, first match wins; `otherwise` and `on_error` mandatory.
- instruct: tells the caller to perform a caller action; `done` / `not_done` targets.
- action:   a recovery action (registry in troubleshooting.actions) with its declared
            guards; `outcomes` maps the action's declared outcomes.
- verify:   a sign-in attempt through the MFA port; `outcomes` maps success, denied, fraud,
            error and timeout.
- subflow:  runs another playbook; its end outcome picks the target (or `otherwise`).
- end:      an outcome and the root causes named; escalations name a queue and the next step.

Any node may link knowledge-base articles (`kb: [slug, …]`) and may bound how often a session
enters it (`max_visits` with an `on_exhausted` target) — the linter requires such a bound on
every loop.

This module checks shapes and vocabularies only. Whether ids are unique, targets exist, checks
are registered, outcomes mapped and paths safe is the linter's job (troubleshooting.lint), so
that every problem in a file is reported at once, each naming file, node and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from helpdesk.yaml_files import (
    PLAYBOOK_MAX_BYTES,
    YamlFileError,
    load_yaml_text,
    read_yaml_text,
)
from troubleshooting.vocab import (
    ESCALATION_OUTCOMES,
    CallerAction,
    Complaint,
    Outcome,
    RootCause,
    SignInFactor,
)

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
PlaybookId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
KbSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(:[a-z0-9_]+)?$")]
# A question's answer: booleans for yes/no facts, strings for choices.
AnswerValue = bool | Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeBase(_Model):
    id: NodeId
    title: ShortText
    prompt: Text = ""
    kb: list[KbSlug] = Field(default_factory=list)
    # A bound on loops: entering this node more than `max_visits` times goes to `on_exhausted`.
    max_visits: int | None = Field(default=None, ge=1, le=20)
    on_exhausted: NodeId | None = None

    @model_validator(mode="after")
    def _bound_complete(self) -> NodeBase:
        if (self.max_visits is None) != (self.on_exhausted is None):
            raise ValueError("max_visits and on_exhausted go together: set both or neither")
        return self


class CheckNode(NodeBase):
    kind: Literal["check"]
    check: Name
    outcomes: dict[Name, NodeId]


class AnswerOption(_Model):
    value: AnswerValue
    label: ShortText
    next: NodeId


class QuestionNode(NodeBase):
    kind: Literal["question"]
    fact: Name
    options: list[AnswerOption] = Field(min_length=2)

    @field_validator("options")
    @classmethod
    def _values_unique(cls, options: list[AnswerOption]) -> list[AnswerOption]:
        values = [repr(option.value) for option in options]
        if len(set(values)) != len(values):
            raise ValueError("each option value may appear once")
        return options


class Condition(_Model):
    when: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    # Taken when `when` holds and `unless` does not; in a node whose unknown facts count as
    # false, an `unless` that cannot be evaluated blocks nothing.
    unless: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = None
    next: NodeId
    label: Text = ""


class DecideNode(NodeBase):
    kind: Literal["decide"]
    conditions: list[Condition] = Field(min_length=1)
    otherwise: NodeId
    # Where a condition that cannot be evaluated (a missing fact, a type error) leads.
    on_error: NodeId
    # Weigh evidence rather than route on it: a condition reading a fact nobody gathered (a
    # question not asked reads as null) counts as false instead of taking on_error. The
    # diagnosis compiled from the root-cause catalog ranks its candidates this way.
    unknown_is_false: bool = False


class InstructNode(NodeBase):
    kind: Literal["instruct"]
    caller_action: CallerAction
    # The root causes this instruction remedies; non-empty makes it a remediation, which the
    # linter requires to be followed by a successful verify before any resolved end.
    fixes: list[RootCause] = Field(default_factory=list)
    done: NodeId
    not_done: NodeId


class ActionNode(NodeBase):
    kind: Literal["action"]
    action: Name
    # Restating the action's guards documents them in the file; the linter rejects a list
    # that leaves out any guard the action declares.
    guards: list[Name] = Field(default_factory=list)
    fixes: list[RootCause] = Field(default_factory=list)
    outcomes: dict[Name, NodeId]


class VerifyNode(NodeBase):
    kind: Literal["verify"]
    factor: SignInFactor = "auto"
    # None: the application on the ticket.
    application: ShortText | None = None
    outcomes: dict[Name, NodeId]


class SubflowNode(NodeBase):
    kind: Literal["subflow"]
    playbook: PlaybookId
    outcomes: dict[Outcome, NodeId] = Field(default_factory=dict)
    otherwise: NodeId


class EndNode(NodeBase):
    kind: Literal["end"]
    outcome: Outcome
    root_causes: list[RootCause] = Field(default_factory=list)
    queue: ShortText | None = None
    next_step: Text | None = None

    @model_validator(mode="after")
    def _escalation_complete(self) -> EndNode:
        if self.outcome in ESCALATION_OUTCOMES:
            if not self.queue or not self.next_step:
                raise ValueError(
                    f"an {self.outcome} end names its queue and a next_step for the handoff"
                )
        elif self.queue is not None:
            raise ValueError(f"only an escalation names a queue, not {self.outcome}")
        return self


Node = Annotated[
    CheckNode
    | QuestionNode
    | DecideNode
    | InstructNode
    | ActionNode
    | VerifyNode
    | SubflowNode
    | EndNode,
    Field(discriminator="kind"),
]

NODE_KINDS: tuple[str, ...] = (
    "check",
    "question",
    "decide",
    "instruct",
    "action",
    "verify",
    "subflow",
    "end",
)


class PlaybookDefinition(_Model):
    id: PlaybookId
    complaint: Complaint
    title: ShortText
    version_notes: Text = ""
    start: NodeId
    nodes: list[Node] = Field(min_length=1)
    # How the linter proves the path rules: by enumerating every path ("paths"), or, for a
    # playbook that loops over its evidence (the compiled diagnosis), by the structure of
    # its graph: every remediation leads to a verify, every resolved end follows a verify's
    # success, every recovery action follows an identity verification.
    proof: Literal["paths", "structure"] = "paths"

    _node_map: dict[str, Any] | None = PrivateAttr(default=None)

    def node(self, node_id: str) -> Any:
        """The node with this id (KeyError if none)."""
        return self.node_map()[node_id]

    def node_map(self) -> dict[str, Any]:
        # Read the private slot directly: pydantic's attribute hook is slow, and path
        # enumeration asks for nodes hundreds of thousands of times.
        private = self.__pydantic_private__
        mapping = private.get("_node_map")
        if mapping is None:
            mapping = {}
            for node in self.nodes:
                mapping.setdefault(node.id, node)  # the first wins; the linter flags duplicates
            private["_node_map"] = mapping
        return mapping


class PlaybookFileError(Exception):
    """A playbook file could not be read or does not match the format.

    `problems` is a list of (node id or None, key path, message); str() names the file."""

    def __init__(self, file: str, problems: list[tuple[str | None, str, str]]):
        self.file = file
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for node, key, message in self.problems:
            where = f"node {node}: " if node else ""
            key_part = f"key {key}: " if key else ""
            out.append(f"{self.file}: {where}{key_part}{message}")
        return out


def parse_playbook(data: Any, *, file: str = "<playbook>") -> PlaybookDefinition:
    """Validates already-parsed YAML/JSON data. Raises PlaybookFileError naming the file, the
    node (by id when it has one) and the key of each problem."""
    if not isinstance(data, dict):
        raise PlaybookFileError(file, [(None, "", "expected a mapping at the top level")])
    try:
        return PlaybookDefinition.model_validate(data)
    except ValidationError as exc:
        raise PlaybookFileError(file, _problems(exc, data)) from None


def load_playbook(path: str | Path) -> PlaybookDefinition:
    """Reads and validates one playbook file. Raises PlaybookFileError."""
    path = Path(path)
    text = read_text(path)
    return parse_playbook(parse_yaml(text, file=str(path)), file=str(path))


def read_text(path: Path) -> str:
    """The file's text (UTF-8, within the playbook size limit). Raises PlaybookFileError."""
    try:
        return read_yaml_text(path, max_bytes=PLAYBOOK_MAX_BYTES)
    except YamlFileError as exc:
        raise _file_error(str(path), exc) from None


def parse_yaml(text: str, *, file: str) -> Any:
    """Parses playbook YAML with the shared strict loader (helpdesk.yaml_files: no duplicate
    keys, bounded nesting, no aliases). Raises PlaybookFileError naming the line and key."""
    try:
        return load_yaml_text(text, source=file)
    except YamlFileError as exc:
        raise _file_error(file, exc) from None


def _file_error(file: str, exc: YamlFileError) -> PlaybookFileError:
    # The key is part of the location here, so it is not repeated as the problem's key.
    return PlaybookFileError(
        file, [(None, "", f"{exc.location}: {exc.message}" if exc.location else exc.message)]
    )


def _problems(exc: ValidationError, data: dict) -> list[tuple[str | None, str, str]]:
    problems = []
    raw_nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
    for error in exc.errors():
        loc = list(error["loc"])
        node_id = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            index = loc[1]
            raw = raw_nodes[index] if index < len(raw_nodes) else None
            node_id = (
                str(raw["id"])
                if isinstance(raw, dict) and raw.get("id") is not None
                else f"#{index + 1}"
            )
            loc = loc[2:]
            # The discriminated union puts the kind first; the author wrote no such key.
            if loc and isinstance(raw, dict) and loc[0] == raw.get("kind"):
                loc = loc[1:]
        key = ".".join(str(part) for part in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", message))
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "union_tag_invalid":
            message = f"unknown kind; expected one of {', '.join(NODE_KINDS)}"
        elif error["type"] == "union_tag_not_found":
            message = f"the node has no kind; expected one of {', '.join(NODE_KINDS)}"
        elif error["type"] == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            message = f"{error.get('input')!r} is not allowed; expected {expected}"
        problems.append((node_id, key, message))
    return problems
