"""Moving a session on: one node through the driver, the automatic nodes after it,
entering and leaving subflows, and the end."""

from __future__ import annotations

from dataclasses import replace

from enrollment import clock
from helpdesk.models import Staff
from troubleshooting import engine, runner
from troubleshooting.models import GuidedSession
from troubleshooting.schema import CheckNode, DecideNode, EndNode, SubflowNode
from troubleshooting.selectors import playbook_definition, playbook_version_current
from troubleshooting.sessions.ending import _end
from troubleshooting.sessions.errors import EnterSubflow, SessionError, Waiting
from troubleshooting.sessions.frames import (
    SUBFLOWS,
    Frame,
    _save_state,
    _with_frame_state,
    session_frame,
)

AUTOMATIC = (CheckNode, DecideNode)
# Safety net for a driver that keeps answering automatic nodes in a circle (the linter
# bounds loops; this only stops an unlinted definition from hanging a request).
_MAX_AUTOMATIC_STEPS = 200


def _run_automatic(session: GuidedSession, actor: Staff, driver: runner.Driver) -> None:
    """Runs checks and decisions, enters and leaves subflows, up to the next node that
    needs someone, or ends the session at its end node."""
    for _ in range(_MAX_AUTOMATIC_STEPS):
        frame = session_frame(session)
        if frame.state.finished:
            if frame.depth == 0:
                if _diagnose_first(session, frame):
                    continue
                _end(session, actor)
                return
            if _diverted(session):
                _leave_diagnosis(session, frame)
                continue
            _leave_subflow(session, driver, frame)
            continue
        node = frame.definition.node(frame.state.node)
        if isinstance(node, SubflowNode):
            _step(session, driver, frame)
            continue
        if not isinstance(node, AUTOMATIC):
            if _diagnose_first(session, frame):
                continue
            return
        _step(session, driver, frame)


def _step(session: GuidedSession, driver: runner.Driver, frame: Frame) -> None:
    """One node of the current frame through the driver (a subflow node enters its
    playbook instead)."""
    try:
        runner.advance(frame.definition, frame.state, driver)
    except EnterSubflow as entering:
        _enter_subflow(session, frame, entering.node)
        return
    session.refresh_from_db(fields=["state"])


def _enter_subflow(session: GuidedSession, frame: Frame, node: SubflowNode) -> None:
    """Pins the current published version of the sub-playbook and starts it with the facts
    gathered so far; its steps are recorded with that version."""
    version = playbook_version_current(node.playbook)
    if version is None:
        raise SessionError(f"The playbook {node.playbook} is not published; it cannot run here.")
    definition = playbook_definition(version)
    sub = engine.start(definition, dict(frame.state.facts))
    frames = [
        *(session.state.get(SUBFLOWS) or []),
        {"node": node.id, "playbook": version.playbook.slug, "version": version.pk, "state": {}},
    ]
    state = dict({k: v for k, v in session.state.items() if k != "pending"}, **{SUBFLOWS: frames})
    session.state = state
    _save_state(session, _with_frame_state(session, sub))


DIAGNOSIS = "diagnosis"
# A fact: the session has been through the diagnosis (it runs once per session).
DIAGNOSED = "diagnosed"


def _diverted(session: GuidedSession) -> bool:
    frames = session.state.get(SUBFLOWS) or []
    return bool(frames) and bool(frames[-1].get("diverted"))


# The last rungs (a bypass code, a re-enrollment) where the diagnosis could also step in
# first. Off for now: the playbooks' own recovery paths (and the privacyIDEA cases) are
# proved on those steps; entering there is the next step once it is measured on them.
LAST_RUNGS: frozenset[str] = frozenset()


def _diagnose_first(session: GuidedSession, frame: Frame) -> bool:
    """Before the session gives up on the user's own methods (an escalation to tier 2, a
    bypass code, a re-enrollment), it diagnoses from the root-cause catalog, once: returns
    True when it entered the diagnosis. An escalation whose named causes all need tier 2
    anyway (a provider, a policy) stands."""
    from troubleshooting.catalog import assess, load_catalog
    from troubleshooting.catalog.compile import DIAGNOSIS_ID

    node = frame.definition.node(frame.state.node)
    facts = frame.state.facts
    if facts.get(DIAGNOSED) or frame.definition.id == DIAGNOSIS_ID:
        return False
    if frame.state.finished and not isinstance(node, EndNode):
        return False  # ended by the diagnosis itself
    catalog = load_catalog()
    tried = tuple(facts.get(engine.TRIED_CAUSES) or ())
    # A fix of the user's own method the evidence points at and nobody has tried yet.
    untried = [
        finding.cause
        for finding in assess(facts, tried=tried, catalog=catalog).suspected
        if finding.cause not in tried
        and finding.cause not in frame.state.root_causes
        and not catalog.cause(finding.cause).fix.escalate
        and not catalog.cause(finding.cause).fix.explain
    ]
    if isinstance(node, EndNode):
        if frame.depth or node.outcome != "escalated_tier2":
            return False
        known = {cause.id for cause in catalog.causes}
        named = [cause for cause in frame.state.root_causes if cause in known]
        if named and not untried:
            return False
    elif getattr(node, "action", None) not in LAST_RUNGS:
        return False
    version = playbook_version_current(DIAGNOSIS_ID)
    if version is None:
        return False
    # Fixes already applied or proved in this session are not tried again.
    done = [*tried, *frame.state.pending_fixes, *frame.state.root_causes]
    start_facts = {**facts, engine.TRIED_CAUSES: list(dict.fromkeys(done))}
    sub = engine.start(playbook_definition(version), start_facts)
    diverted = {
        "node": node.id,
        "playbook": DIAGNOSIS_ID,
        "version": version.pk,
        "state": {},
        "diverted": True,
    }
    frames = [*(session.state.get(SUBFLOWS) or []), diverted]
    session.state = dict(
        {k: v for k, v in session.state.items() if k != "pending"},
        **{
            SUBFLOWS: frames,
            DIAGNOSIS: {
                "entered": node.id,
                "depth": frame.depth,
                "at_end": isinstance(node, EndNode),
            },
        },
    )
    _save_state(session, _with_frame_state(session, sub))
    return True


def _leave_diagnosis(session: GuidedSession, frame: Frame) -> None:
    """The diagnosis ended. When it found something (a cause named, or an end other than
    handing over), its end is the session's end; otherwise the session carries on where it
    left off, at the escalation or recovery step, knowing what the diagnosis learned."""
    sub = frame.state
    frames = (session.state.get(SUBFLOWS) or [])[:-1]
    entered = session.state[DIAGNOSIS]
    if sub.outcome == "escalated_tier2":
        # Handing over: better than the playbook's own escalation when it names a cause;
        # never better than the last rung the playbook was about to take for a verified
        # caller whose own methods could not be fixed.
        found = bool(sub.root_causes) and bool(entered.get("at_end"))
    else:
        found = True
    outer = {k: v for k, v in session.state.items() if k != SUBFLOWS}
    top = engine.SessionState.from_dict(outer)
    if found:
        causes = top.root_causes
        if sub.verified_sign_in:
            # The sign-in that works now proves the fixes made before the diagnosis too
            # (an unlock whose first test failed on the second fault).
            causes += tuple(c for c in top.pending_fixes if c not in causes)
        causes += tuple(c for c in sub.root_causes if c not in causes)
        merged = replace(
            top,
            facts={**top.facts, **sub.facts, DIAGNOSED: True},
            root_causes=causes,
            pending_fixes=sub.pending_fixes,
            verified_sign_in=sub.verified_sign_in,
            identity_verified=top.identity_verified or sub.identity_verified,
            finished=True,
            outcome=sub.outcome,
        )
        state = dict(outer, **merged.as_dict())
        state[DIAGNOSIS] = dict(entered, found=True, node=sub.node, version=frame.version.pk)
    else:
        state = dict(outer, **{SUBFLOWS: frames}) if frames else outer
        state[DIAGNOSIS] = dict(entered, found=False)
        session.state = state
        # What the diagnosis learned stays known where the session carries on.
        current = session_frame(session)
        learned = {**current.state.facts, **sub.facts, DIAGNOSED: True}
        state = _with_frame_state(session, replace(current.state, facts=learned))
        state[DIAGNOSIS] = dict(entered, found=False)
    _save_state(session, state)


def _leave_subflow(session: GuidedSession, driver: runner.Driver, frame: Frame) -> None:
    """The sub-playbook reached its end: its outcome picks the subflow node's branch in the
    playbook one level up, and the root causes it named carry over."""
    frames = session.state.get(SUBFLOWS) or []
    rest = frames[:-1]
    session.state = (
        dict(session.state, **{SUBFLOWS: rest})
        if rest
        else {k: v for k, v in session.state.items() if k != SUBFLOWS}
    )
    outer = session_frame(session)
    node = outer.definition.node(outer.state.node)
    sub = frame.state
    driver.subflow_result = runner.NodeResult(
        engine.subflow_branch(node, sub.outcome),
        evidence={
            "playbook": frame.version.playbook.slug,
            "version": frame.version.number,
            "outcome": sub.outcome,
            "root_causes": list(sub.root_causes),
        },
        named_causes=tuple(sub.root_causes),
        # What the sub-playbook learned stays known one level up (later conditions and the
        # end's findings read it), except its own verify result, which was its business.
        facts={
            name: value
            for name, value in sub.facts.items()
            if name not in engine.VERIFY_FACTS and name not in engine.BASE_FACTS
        },
    )
    runner.advance(outer.definition, outer.state, driver)
    session.refresh_from_db(fields=["state"])


def _advance_once(
    session: GuidedSession, actor: Staff, driver: runner.Driver, frame: Frame
) -> None:
    node = frame.definition.node(frame.state.node)
    if isinstance(node, EndNode):
        _run_automatic(session, actor, driver)
        return
    try:
        _step(session, driver, frame)
    except Waiting as waiting:
        pending = dict(waiting.pending, node=frame.state.node, since=clock.now().isoformat())
        _save_state(session, dict(session.state, pending=pending))
        return
    _run_automatic(session, actor, driver)
