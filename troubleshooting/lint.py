"""The playbook linter: every rule a playbook must pass before it can be published.

Each finding names the file, the node and the problem. Rules, in the order they run:

- schema         the file parses and matches troubleshooting.schema (unknown keys, missing
                 keys — a decide without `otherwise` among them —, bad vocabulary);
- duplicate-id   node ids are unique;
- start-missing  the start node exists (there is exactly one: the `start` key);
- unknown-target every target (outcome, option, condition, otherwise, on_error, done,
                 not_done, on_exhausted) names a node;
- unknown-check / unknown-question-fact / unknown-action / unknown-playbook: registries;
- unknown-kb     every `kb:` slug names an article in troubleshooting/kb/ (kb-file when an
                 article file itself is broken);
- subflow-cycle  playbooks linted together never call each other in a circle;
- guards-weakened an action node restates fewer guards than the action declares;
- unmapped-outcome / unknown-outcome: a check's declared outcomes plus error and timeout, an
                 action's outcomes, a verify's outcomes — each mapped, nothing else;
- unmapped-answer / unknown-answer: a question maps every answer its fact admits;
- unreachable    every node is reachable from the start;
- no-end         every node can reach an end node;
- unbounded-loop every cycle passes through a node with max_visits; an on_exhausted exit
                 must leave the loop (exhausted-loops-back);
- condition-syntax / unknown-fact / fact-not-available: CEL conditions compile and read only
                 facts some check, question, verify or action before them can set;
- by enumerating every path (bounded; path-limit when the bound is hit):
  unverified-remediation  a remediation reaches a resolved end without a successful verify
                          in between;
  unverified-resolution   a resolved end reached without any successful verify;
  identity-not-verified   a bypass / reset / re-enroll / unlock action reached without the
                          caller's identity verified on that path;
  no-root-cause           a resolved end with no root cause named (by the end node, a
                          verified remediation's `fixes`, or a resolved subflow).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from helpdesk.yaml_files import PLAYBOOK_MAX_BYTES, YamlFileError, decode_yaml_bytes
from troubleshooting import cel, conf, engine, kb
from troubleshooting.actions import ACTIONS
from troubleshooting.checks import registry as check_registry
from troubleshooting.questions import QUESTION_FACTS
from troubleshooting.schema import (
    ActionNode,
    CheckNode,
    DecideNode,
    EndNode,
    InstructNode,
    PlaybookDefinition,
    PlaybookFileError,
    QuestionNode,
    SubflowNode,
    VerifyNode,
    parse_playbook,
    parse_yaml,
)
from troubleshooting.vocab import CHECK_UNKNOWN, RESOLVED_OUTCOMES, VERIFY_OUTCOMES

# Access restored means a cause was found and fixed; "working as designed" may name none.
NEEDS_ROOT_CAUSE = RESOLVED_OUTCOMES


@dataclass(frozen=True)
class Finding:
    file: str
    node: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"node {self.node}: " if self.node else ""
        return f"{self.file}: {where}{self.message} [{self.code}]"


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    definitions: dict[str, PlaybookDefinition] = field(default_factory=dict)
    # playbook id -> the file it was read from
    files: dict[str, str] = field(default_factory=dict)
    # playbook id -> the file's text as it was linted (what a publication stores as source)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]


def playbook_files(paths: Iterable[str | FsPath] | None = None) -> list[FsPath]:
    """The YAML files named, directories expanded (sorted); the shipped ones by default."""
    files: list[FsPath] = []
    for raw in paths or [conf.playbook_dir()]:
        path = FsPath(raw)
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


def lint_paths(
    paths: Iterable[str | FsPath] | None = None, *, known_playbooks: Iterable[str] = ()
) -> LintReport:
    """Lints the files named (directories expanded). Subflows may name any playbook in the
    set, in `known_playbooks`, or shipped in the playbook directory.

    Every file is read each time; what is parsed from it and found in it is kept per process
    by the sha256 of its bytes (see _parsed and _definition_findings), so an unchanged file is
    parsed and linted once and a changed one is parsed and linted again."""
    report = LintReport()
    loaded: list[tuple[str, PlaybookDefinition, str, str]] = []
    for path in playbook_files(paths):
        try:
            text, digest = _read(path)
            definition = _parsed(text, digest).definition_or_raise(str(path))
        except PlaybookFileError as exc:
            report.findings += [
                Finding(exc.file, node, "schema", f"key {key}: {msg}" if key else msg)
                for node, key, msg in exc.problems
            ]
            continue
        loaded.append((str(path), definition, text, digest))
    known = set(known_playbooks) | {definition.id for _, definition, _, _ in loaded}
    known |= _shipped_ids()
    for file, definition, text, digest in loaded:
        if definition.id in report.definitions:
            report.findings.append(
                Finding(
                    file, None, "duplicate-playbook", f"playbook id {definition.id} is used twice"
                )
            )
        else:
            report.definitions[definition.id] = definition
            report.files[definition.id] = file
            report.sources[definition.id] = text
        report.findings += _definition_findings(definition, digest, file=file, known=known)
    report.findings += _subflow_cycles(report)
    return report


# --- What a process keeps per file content ----------------------------------------------------
#
# Parsing a playbook is a YAML load and a validation; linting it enumerates every path, which
# is most of the cost of a sync. Both depend only on the file's bytes and, for the findings, on
# the file's name (findings name it), the playbook ids subflows may name, the path bound and
# the knowledge base; the registries of checks, actions and question facts change only with a
# deployment. Definitions are frozen, findings are frozen dataclasses, so sharing them is safe.

_CACHE_MAX = 256


@dataclass(frozen=True)
class _Parsed:
    """One file content, parsed: its definition, or the problems that keep it from being
    one. `playbook_id`: the top-level `id` when the YAML is a mapping naming one (what
    _shipped_ids reads, even from a file that does not validate)."""

    playbook_id: str | None
    definition: PlaybookDefinition | None
    problems: tuple[tuple[str | None, str, str], ...] = ()

    def definition_or_raise(self, file: str) -> PlaybookDefinition:
        if self.definition is None:
            raise PlaybookFileError(file, list(self.problems))
        return self.definition


_PARSED: dict[str, _Parsed] = {}
_FINDINGS: dict[tuple, tuple[Finding, ...]] = {}


def _read(path: FsPath) -> tuple[str, str]:
    """The file's text (decoded as schema.read_text does: UTF-8, universal newlines) and the
    sha256 of its bytes. Raises PlaybookFileError naming the file when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlaybookFileError(str(path), [(None, "", f"cannot read the file: {exc}")]) from None
    try:
        text = decode_yaml_bytes(data, source=str(path), max_bytes=PLAYBOOK_MAX_BYTES)
    except YamlFileError as exc:
        where = f"{exc.location}: " if exc.location else ""
        raise PlaybookFileError(str(path), [(None, "", where + exc.message)]) from None
    return text, hashlib.sha256(data).hexdigest()


def _parsed(text: str, digest: str) -> _Parsed:
    """`text` parsed and validated, once per content. The problems of a file that does not
    parse name no file (the caller's PlaybookFileError does), so one entry serves any path."""
    found = _PARSED.get(digest)
    if found is None:
        found = _parse_text(text)
        if len(_PARSED) >= _CACHE_MAX:
            _PARSED.clear()
        _PARSED[digest] = found
    return found


def _parse_text(text: str) -> _Parsed:
    try:
        data = parse_yaml(text, file="")
    except PlaybookFileError as exc:
        return _Parsed(None, None, tuple(exc.problems))
    playbook_id = data.get("id") if isinstance(data, dict) else None
    playbook_id = playbook_id if isinstance(playbook_id, str) else None
    try:
        return _Parsed(playbook_id, parse_playbook(data, file=""))
    except PlaybookFileError as exc:
        return _Parsed(playbook_id, None, tuple(exc.problems))


def _definition_findings(
    definition: PlaybookDefinition, digest: str, *, file: str, known: set[str]
) -> list[Finding]:
    """lint_definition for the file content `digest`, once per content, file name, set of
    known playbooks, path bound and knowledge base."""
    max_paths = conf.max_enumerated_paths()
    key = (digest, file, frozenset(known), max_paths, _kb_key())
    found = _FINDINGS.get(key)
    if found is None:
        found = tuple(
            lint_definition(definition, file=file, known_playbooks=known, max_paths=max_paths)
        )
        if len(_FINDINGS) >= _CACHE_MAX:
            _FINDINGS.clear()
        _FINDINGS[key] = found
    return list(found)


def _kb_key() -> frozenset[str] | str:
    """What the unknown-kb and kb-file rules read: the article slugs, or the read error."""
    try:
        return frozenset(kb.articles())
    except kb.KbFileError as exc:
        return f"error: {exc}"


def lint_cache_clear() -> None:
    """Forgets every parsed file and every finding kept by lint_paths (after a registry or
    a rule changes in a running process; files on disk need no clearing)."""
    _PARSED.clear()
    _FINDINGS.clear()


def _subflow_cycles(report: LintReport) -> list[Finding]:
    """A playbook may not reach itself through subflows: the session would never end."""
    calls = {
        playbook_id: sorted(
            {node.playbook for node in definition.nodes if isinstance(node, SubflowNode)}
        )
        for playbook_id, definition in report.definitions.items()
    }
    findings = []
    for component in _cycles(list(calls), lambda playbook_id: calls.get(playbook_id, [])):
        first = component[0]
        node = next(
            n.id
            for n in report.definitions[first].nodes
            if isinstance(n, SubflowNode) and n.playbook in component
        )
        findings.append(
            Finding(
                report.files[first],
                node,
                "subflow-cycle",
                f"playbooks {', '.join(component)} call each other through subflows",
            )
        )
    return findings


def _shipped_ids() -> set[str]:
    """The ids named by the files in the playbook directory (read each time, parsed once per
    content), including files that name an id but do not validate."""
    ids = set()
    for path in playbook_files():
        try:
            parsed = _parsed(*_read(path))
        except PlaybookFileError:
            continue
        if parsed.playbook_id is not None:
            ids.add(parsed.playbook_id)
    return ids


def lint_definition(
    definition: PlaybookDefinition,
    *,
    file: str = "<playbook>",
    known_playbooks: Iterable[str] = (),
    max_paths: int | None = None,
) -> list[Finding]:
    """Every finding for one parsed playbook."""
    linter = _Linter(definition, file, set(known_playbooks) | {definition.id})
    return linter.run(max_paths or conf.max_enumerated_paths())


class _Linter:
    def __init__(self, definition: PlaybookDefinition, file: str, known: set[str]):
        self.d = definition
        self.file = file
        self.known = known
        self.findings: list[Finding] = []
        self.nodes = definition.node_map()

    def add(self, node: str | None, code: str, message: str, *, once: bool = False) -> None:
        """Records a finding. `once`: a path rule broken on many paths reports the first
        path only, once per node."""
        for found in self.findings:
            if found.node == node and found.code == code and (once or found.message == message):
                return
        self.findings.append(Finding(self.file, node, code, message))

    def run(self, max_paths: int) -> list[Finding]:
        structural = self.structure()
        self.registries()
        if structural:
            return self.findings  # the graph rules need every target to exist
        self.graph()
        loops_ok = self.loops()
        self.conditions()
        if loops_ok and self.d.proof == "structure":
            self.structure_proof()
        elif loops_ok:
            self.paths(max_paths)
        return self.findings

    def structure_proof(self) -> None:
        """The path rules for a playbook that loops over its evidence, proved edge by edge
        instead of path by path: a remediation's done branch leads straight to a verify;
        a resolved end is entered only from a verify's success (through decide nodes);
        an identity-guarded action is entered only through a verified identity."""
        into: dict[str, list[tuple[str, str]]] = {node_id: [] for node_id in self.nodes}
        for node in self.d.nodes:
            for edge in engine.branches(node):
                if edge.target in into:
                    into[edge.target].append((node.id, edge.branch))
        for node in self.d.nodes:
            if engine.is_remediation(node):
                target = engine.target_of(node, engine.remediation_branch(node))
                # The caller's own steps that finish the fix may come between.
                for _ in range(len(self.nodes)):
                    step = self.nodes[target]
                    if not (isinstance(step, InstructNode) and not engine.is_remediation(step)):
                        break
                    target = step.done
                if not isinstance(self.nodes[target], VerifyNode):
                    self.add(
                        node.id,
                        "unverified-remediation",
                        f"its {engine.remediation_branch(node)} branch leads to {target}, "
                        "not to a verify",
                    )
            if engine.requires_identity(node):
                for source, branch in into[node.id]:
                    if engine.identity_branch(self.nodes[source]) != branch:
                        self.add(
                            node.id,
                            "identity-not-verified",
                            f"{node.action} is entered from {source} ({branch}) without a "
                            "verified identity",
                        )
            if isinstance(node, EndNode) and node.outcome in RESOLVED_OUTCOMES:
                self._entered_after_success(node.id, into, set())

    def _entered_after_success(self, node_id: str, into, seen: set[str]) -> None:
        for source, branch in into[node_id]:
            node = self.nodes[source]
            if isinstance(node, VerifyNode) and branch == "success":
                continue
            if isinstance(node, DecideNode):
                if source not in seen:
                    seen.add(source)
                    self._entered_after_success(source, into, seen)
                continue
            self.add(
                node_id,
                "unverified-resolution",
                f"resolved end entered from {source} ({branch}), not after a successful verify",
            )

    # --- structure -----------------------------------------------------------------------

    def structure(self) -> bool:
        broken = False
        seen: set[str] = set()
        for node in self.d.nodes:
            if node.id in seen:
                self.add(node.id, "duplicate-id", f"node id {node.id} is used more than once")
                broken = True
            seen.add(node.id)
        if self.d.start not in self.nodes:
            self.add(None, "start-missing", f"start node {self.d.start} does not exist")
            broken = True
        for node in self.d.nodes:
            for edge in engine.branches(node):
                if edge.target not in self.nodes:
                    self.add(
                        node.id,
                        "unknown-target",
                        f"branch {edge.branch} leads to {edge.target}, which does not exist",
                    )
                    broken = True
        return broken

    def registries(self) -> None:
        self.kb_links()
        for node in self.d.nodes:
            if isinstance(node, CheckNode):
                self.check_node(node)
            elif isinstance(node, QuestionNode):
                self.question_node(node)
            elif isinstance(node, ActionNode):
                self.action_node(node)
            elif isinstance(node, VerifyNode):
                self.mapping(node, set(VERIFY_OUTCOMES), set(node.outcomes), "verify")
            elif isinstance(node, SubflowNode) and node.playbook not in self.known:
                self.add(
                    node.id, "unknown-playbook", f"subflow names unknown playbook {node.playbook}"
                )

    def kb_links(self) -> None:
        try:
            known = kb.articles()
        except kb.KbFileError as exc:
            self.add(None, "kb-file", f"the knowledge base cannot be read: {exc}")
            return
        for node in self.d.nodes:
            for slug in node.kb:
                if slug not in known:
                    self.add(node.id, "unknown-kb", f"kb links {slug}, which has no article")

    def mapping(self, node: Any, declared: set[str], mapped: set[str], what: str) -> None:
        for outcome in sorted(declared - mapped):
            self.add(node.id, "unmapped-outcome", f"{what} outcome {outcome} is not mapped")
        for outcome in sorted(mapped - declared):
            self.add(node.id, "unknown-outcome", f"{what} has no outcome {outcome}")

    def check_node(self, node: CheckNode) -> None:
        if node.check not in check_registry:
            self.add(node.id, "unknown-check", f"no check is registered as {node.check}")
            return
        spec = check_registry.get(node.check)
        # `unknown` (the service does not report the check's data) may be mapped, need not be.
        mapped = set(node.outcomes) - {CHECK_UNKNOWN}
        self.mapping(node, set(spec.all_outcomes), mapped, f"check {node.check}")

    def question_node(self, node: QuestionNode) -> None:
        fact = QUESTION_FACTS.get(node.fact)
        if fact is None:
            self.add(node.id, "unknown-question-fact", f"no question fact is named {node.fact}")
            return
        offered = [option.value for option in node.options]
        for answer in fact.answers:
            if not any(type(value) is type(answer) and value == answer for value in offered):
                self.add(
                    node.id, "unmapped-answer", f"answer {engine.answer_key(answer)} is not mapped"
                )
        for value in offered:
            if not fact.accepts(value):
                self.add(
                    node.id,
                    "unknown-answer",
                    f"{value!r} is not an answer to {node.fact} ({fact.kind})",
                )

    def action_node(self, node: ActionNode) -> None:
        spec = ACTIONS.get(node.action)
        if spec is None:
            self.add(node.id, "unknown-action", f"no recovery action is named {node.action}")
            return
        missing = [guard for guard in spec.guards if guard not in node.guards]
        if node.guards and missing:
            self.add(
                node.id,
                "guards-weakened",
                f"guards leave out {', '.join(missing)} that {node.action} declares",
            )
        self.mapping(node, set(spec.outcomes), set(node.outcomes), f"action {node.action}")

    # --- graph ---------------------------------------------------------------------------

    def successors(self, node_id: str) -> list[str]:
        return [edge.target for edge in engine.branches(self.nodes[node_id])]

    def graph(self) -> None:
        reachable = self.reach([self.d.start], self.successors)
        for node in self.d.nodes:
            if node.id not in reachable:
                self.add(node.id, "unreachable", "no path from the start reaches this node")
        predecessors: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for node_id in self.nodes:
            for target in self.successors(node_id):
                predecessors[target].append(node_id)
        ends = [node.id for node in self.d.nodes if isinstance(node, EndNode)]
        can_end = self.reach(ends, lambda node_id: predecessors[node_id])
        for node in self.d.nodes:
            if node.id not in can_end:
                self.add(node.id, "no-end", "no path from this node reaches an end node")

    @staticmethod
    def reach(roots: list[str], neighbours) -> set[str]:
        seen = set(roots)
        queue = deque(roots)
        while queue:
            for nxt in neighbours(queue.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def loops(self) -> bool:
        """Every cycle passes through a bounded node: the graph without bounded nodes is
        acyclic. And an exhausted exit must not lead back to its own node."""
        ok = True
        bounded = {node.id for node in self.d.nodes if node.max_visits is not None}
        for component in _cycles(
            [n for n in self.nodes if n not in bounded],
            lambda node_id: [t for t in self.successors(node_id) if t not in bounded],
        ):
            ok = False
            self.add(
                component[0],
                "unbounded-loop",
                f"the loop through {', '.join(component)} has no node with max_visits",
            )
        for node in self.d.nodes:
            if node.on_exhausted is not None:
                back = self.reach([node.on_exhausted], self.successors)
                if node.id in back:
                    ok = False
                    self.add(
                        node.id,
                        "exhausted-loops-back",
                        f"on_exhausted {node.on_exhausted} leads back to this node",
                    )
        return ok

    # --- conditions ----------------------------------------------------------------------

    def conditions(self) -> None:
        every_fact = _every_known_fact()
        for node in self.d.nodes:
            if not isinstance(node, DecideNode):
                continue
            available = self.facts_before(node.id)
            if node.unknown_is_false:
                # It weighs evidence that may not be gathered yet: unknown reads as false.
                available = every_fact
            for index, condition in enumerate(node.conditions):
                try:
                    names = cel.referenced_facts(condition.when)
                    if condition.unless:
                        names |= cel.referenced_facts(condition.unless)
                except cel.ConditionSyntaxError as exc:
                    self.add(node.id, "condition-syntax", f"conditions[{index}]: {exc}")
                    continue
                for name in sorted(names):
                    if name not in every_fact:
                        self.add(
                            node.id,
                            "unknown-fact",
                            f"conditions[{index}] reads {name}, which no check, question, "
                            "verify or action sets",
                        )
                    elif name not in available:
                        self.add(
                            node.id,
                            "fact-not-available",
                            f"conditions[{index}] reads {name}, which no node before it sets",
                        )

    def facts_before(self, node_id: str) -> set[str]:
        predecessors: dict[str, list[str]] = {n: [] for n in self.nodes}
        for source in self.nodes:
            for target in self.successors(source):
                predecessors[target].append(source)
        ancestors = self.reach(predecessors[node_id], lambda n: predecessors[n])
        facts = set(engine.BASE_FACTS)
        for ancestor in ancestors:
            facts |= engine.facts_set_by(self.nodes[ancestor])
        return facts

    # --- paths ---------------------------------------------------------------------------

    def paths(self, max_paths: int) -> None:
        try:
            paths = engine.enumerate_paths(self.d, max_paths=max_paths)
        except engine.PathLimitExceeded as exc:
            self.add(None, "path-limit", f"cannot prove the path rules: {exc}")
            return
        for path in paths:
            self.walk(path)

    def walk(self, path: engine.Path) -> None:
        unverified_fix: str | None = None  # the latest remediation not yet verified
        verified_once = False
        identity = False
        named: set[str] = set()
        pending: set[str] = set()
        for node_id, label in path.steps:
            node = self.nodes[node_id]
            branch = engine.first_branch(label)
            if engine.requires_identity(node) and not identity:
                self.add(
                    node_id,
                    "identity-not-verified",
                    f"{node.action} is reachable without verifying the caller's identity "
                    f"(path: {_describe(path, node_id)})",
                    once=True,
                )
            if branch == engine.EXHAUSTED:
                continue
            if engine.is_remediation(node) and branch == engine.remediation_branch(node):
                unverified_fix = node_id
                pending |= set(getattr(node, "fixes", ()))
            if isinstance(node, VerifyNode) and branch == "success":
                unverified_fix = None
                verified_once = True
                named |= pending
                pending = set()
            if isinstance(node, SubflowNode) and branch in RESOLVED_OUTCOMES:
                # The subflow's own playbook proves its verify and names its root causes.
                unverified_fix = None
                verified_once = True
                named |= pending | {f"subflow:{node.playbook}"}
                pending = set()
            if engine.identity_branch(node) == branch:
                identity = True
        end = self.nodes[path.end]
        named |= set(end.root_causes)
        if end.outcome in RESOLVED_OUTCOMES:
            if unverified_fix is not None:
                self.add(
                    unverified_fix,
                    "unverified-remediation",
                    f"reaches resolved end {end.id} without a successful verify after it "
                    f"(path: {_describe(path, end.id)})",
                    once=True,
                )
            elif not verified_once:
                self.add(
                    end.id,
                    "unverified-resolution",
                    f"resolved end reached without a successful verify "
                    f"(path: {_describe(path, end.id)})",
                    once=True,
                )
        if end.outcome in NEEDS_ROOT_CAUSE and not named:
            self.add(
                end.id,
                "no-root-cause",
                f"{end.outcome} end reached with no root cause named "
                f"(path: {_describe(path, end.id)})",
                once=True,
            )


def _describe(path: engine.Path, until: str) -> str:
    shown = []
    for node_id, branch in path.steps:
        shown.append(f"{node_id}[{branch}]")
        if node_id == until:
            break
    else:
        shown.append(path.end)
    return " -> ".join(shown)


def _every_known_fact() -> set[str]:
    facts = set(engine.BASE_FACTS) | set(engine.VERIFY_FACTS) | set(QUESTION_FACTS)
    facts.add(engine.TRIED_CAUSES)  # set by the engine when a fix did not bring access back
    for spec in check_registry.all():
        facts |= set(spec.facts)
    for action in ACTIONS.values():
        facts |= set(action.facts)
    return facts


def _cycles(nodes: list[str], successors) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors(node):
                    result.append(sorted(component))
    return result
