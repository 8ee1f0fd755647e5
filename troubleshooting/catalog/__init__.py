"""The root-cause catalog: every cause the helpdesk can find, as data (root_causes.yaml).

Each entry says which facts suggest the cause and which rule it out (CEL over the facts the
checks, questions and verifies of a session produce), the question that tells it apart, its
fix and how the fix is verified. The engine reads it to say, at any moment of a session,
which causes the evidence so far points at and which it has ruled out:

- `assess(facts, tried=...)` -> Assessment: suspected causes (with the facts behind each),
  ruled-out causes, causes not known yet; a condition that reads a fact nobody gathered
  is "not known yet", never a guess;
- `end_findings(...)` -> what an ended session names: the causes it proved, else the
  suspected ones the evidence points at, else `no_fault_found` with what was ruled out;
- `lint_catalog()` -> findings: an entry for every root cause in the vocabulary, a fix and a
  verify for each, CEL that compiles and reads only facts some check, question, verify or
  action produces, registered caller actions, actions and KB articles.

Like a playbook, the catalog is published by content: `catalog_digest()` names the version a
session worked with (kept in the session's facts as `catalog_version`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from troubleshooting import cel
from troubleshooting.vocab import CALLER_ACTIONS, ROOT_CAUSES

CATALOG_FILE = Path(__file__).resolve().parent / "root_causes.yaml"

# Named when a session ends with nothing proved or suggested: the explicit "no fault found",
# always with the causes that were ruled out beside it.
NO_FAULT_FOUND = "no_fault_found"

Area = Literal["enrollment", "prompt", "codes", "access"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fix(_Model):
    caller_action: str | None = None
    action: str | None = None
    escalate: Literal["tier2", "security"] | None = None
    explain: str | None = None
    # What the caller then does to finish the fix before the sign-in (scan the new code…).
    then: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _exactly_one(self) -> Fix:
        given = [
            name
            for name, value in self.model_dump().items()
            if value is not None and name != "then"
        ]
        if len(given) != 1:
            raise ValueError(
                "a fix is exactly one of caller_action, action, escalate, explain "
                f"(got {given or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(
            name
            for name, value in self.model_dump().items()
            if value is not None and name != "then"
        )


class Verify(_Model):
    sign_in: str | None = None
    handoff: Literal["tier2", "security"] | None = None
    explain: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Verify:
        given = [name for name, value in self.model_dump().items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                f"a verify is exactly one of sign_in, handoff, explain (got {given or 'none'})"
            )
        return self


class Cause(_Model):
    id: str
    title: str
    area: Area
    kb: tuple[str, ...] = ()
    suggests: str
    rules_out: str | None = None
    question: str | None = None
    # When the question is worth asking (CEL): the evidence makes this cause possible but
    # cannot tell it apart without the caller.
    ask_when: str | None = None
    # When the fix is already in place (CEL): the cause stays a finding, nothing to redo.
    fixed_when: str | None = None
    fix: Fix
    verify: Verify


class Catalog(_Model):
    version_notes: str = ""
    causes: tuple[Cause, ...]

    def cause(self, cause_id: str) -> Cause:
        for cause in self.causes:
            if cause.id == cause_id:
                return cause
        raise KeyError(cause_id)


class CatalogError(Exception):
    """The catalog file is not a valid catalog; `problems` name each key."""

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = problems
        super().__init__(f"{file}: " + "; ".join(problems))


def parse_catalog(data: Any, *, file: str = "<catalog>") -> Catalog:
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise CatalogError(file, problems) from None


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog in `path` (the shipped one by default), parsed once per content."""
    text = (path or CATALOG_FILE).read_text(encoding="utf-8")
    return _parsed(text, str(path or CATALOG_FILE))


@lru_cache(maxsize=8)
def _parsed(text: str, file: str) -> Catalog:
    from troubleshooting.schema import parse_yaml

    return parse_catalog(parse_yaml(text, file=file), file=file)


def catalog_digest(path: Path | None = None) -> str:
    """The sha256 of the catalog's bytes: the version a session records it worked with."""
    return hashlib.sha256((path or CATALOG_FILE).read_bytes()).hexdigest()


# --- Assessing the evidence ----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    cause: str
    title: str
    # The facts the deciding condition read, as they stood.
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    suspected: tuple[Finding, ...] = ()
    ruled_out: tuple[Finding, ...] = ()
    tried: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "suspected": [_finding_dict(f) for f in self.suspected],
            "ruled_out": [_finding_dict(f) for f in self.ruled_out],
            "tried": list(self.tried),
        }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {"cause": finding.cause, "title": finding.title, "evidence": finding.evidence}


def _holds(expression: str | None, facts: dict[str, Any]) -> tuple[bool | None, dict[str, Any]]:
    """True / False when the facts decide `expression`, None when they cannot yet (a fact
    not gathered, a null where a number is needed)."""
    if not expression:
        return None, {}
    names = sorted(name for name in cel.referenced_facts(expression) if name in facts)
    read = {name: facts[name] for name in names}
    try:
        return cel.evaluate(expression, facts), read
    except cel.ConditionError:
        return None, read


def assess(
    facts: dict[str, Any],
    *,
    tried: tuple[str, ...] | list[str] = (),
    fixed: tuple[str, ...] | list[str] = (),
    catalog: Catalog | None = None,
) -> Assessment:
    """Which causes the facts point at and which they rule out, in catalog order. A cause
    already fixed is left out; a cause tried without success stays suspected only while
    the evidence still points at it."""
    catalog = catalog or load_catalog()
    suspected, ruled_out = [], []
    for cause in catalog.causes:
        if cause.id in fixed:
            continue
        out, out_read = _holds(cause.rules_out, facts)
        if out:
            ruled_out.append(Finding(cause.id, cause.title, out_read))
            continue
        hit, read = _holds(cause.suggests, facts)
        if hit:
            suspected.append(Finding(cause.id, cause.title, read))
    return Assessment(tuple(suspected), tuple(ruled_out), tuple(tried))


def end_findings(
    named: tuple[str, ...] | list[str], facts: dict[str, Any], *, tried: tuple[str, ...] = ()
) -> tuple[list[str], Assessment]:
    """The root causes an ended session names, and the assessment behind them: the causes
    it proved or its end node named; else the causes the evidence suggests; else
    `no_fault_found` (the assessment then lists what was ruled out)."""
    assessment = assess(facts, tried=tried)
    if named:
        return list(named), assessment
    suspected = [finding.cause for finding in assessment.suspected]
    return (suspected or [NO_FAULT_FOUND]), assessment


# --- Lint ----------------------------------------------------------------------------------


def produced_facts() -> set[str]:
    """Every fact a session can hold: base facts, checks', questions', verifies' and
    actions' facts."""
    from troubleshooting import engine
    from troubleshooting.actions import ACTIONS
    from troubleshooting.checks import registry
    from troubleshooting.questions import QUESTION_FACTS

    names = set(engine.BASE_FACTS) | set(engine.VERIFY_FACTS) | set(QUESTION_FACTS)
    names.add(engine.TRIED_CAUSES)
    for spec in registry.all():
        names |= set(spec.facts)
    for action in ACTIONS.values():
        names |= set(action.facts)
    return names


def lint_catalog(catalog: Catalog | None = None) -> list[str]:
    """Every problem with the catalog, one line each naming the cause and the key."""
    from troubleshooting.actions import ACTIONS
    from troubleshooting.kb import articles
    from troubleshooting.questions import QUESTION_FACTS

    catalog = catalog or load_catalog()
    problems: list[str] = []
    ids = [cause.id for cause in catalog.causes]
    for cause_id in ROOT_CAUSES:
        if cause_id not in ids:
            problems.append(f"{cause_id}: no catalog entry for this root cause")
    seen: set[str] = set()
    known = produced_facts()
    slugs = set(articles())
    for cause in catalog.causes:
        if cause.id in seen:
            problems.append(f"{cause.id}: listed twice")
        seen.add(cause.id)
        if cause.id not in ROOT_CAUSES:
            problems.append(f"{cause.id}: not a root cause of the vocabulary")
        for key in ("suggests", "rules_out", "ask_when", "fixed_when"):
            expression = getattr(cause, key)
            if not expression:
                continue
            try:
                unknown = sorted(cel.referenced_facts(expression) - known)
            except cel.ConditionError as exc:
                problems.append(f"{cause.id}.{key}: {exc}")
                continue
            if unknown:
                problems.append(
                    f"{cause.id}.{key}: reads {', '.join(unknown)}, which no check, question, "
                    "verify or action produces"
                )
        if cause.question and cause.question not in QUESTION_FACTS:
            problems.append(f"{cause.id}.question: {cause.question!r} is not a question fact")
        fix = cause.fix
        for caller_action in (fix.caller_action, *fix.then):
            if caller_action and caller_action not in CALLER_ACTIONS:
                problems.append(f"{cause.id}.fix: unknown caller action {caller_action!r}")
        if fix.action:
            spec = ACTIONS.get(fix.action)
            if spec is None:
                problems.append(f"{cause.id}.fix: unknown action {fix.action!r}")
            elif not spec.guards:
                problems.append(f"{cause.id}.fix: action {fix.action!r} declares no guards")
        if fix.escalate and cause.verify.handoff != fix.escalate:
            problems.append(f"{cause.id}.verify: an escalation is verified by its handoff")
        for slug in cause.kb:
            if slug not in slugs:
                problems.append(f"{cause.id}.kb: no article {slug!r}")
    return problems
