"""Moving a session on: one node through the driver, the automatic nodes after it,
entering and leaving subflows, and the end."""

from __future__ import annotations

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
                _end(session, actor)
                return
            _leave_subflow(session, driver, frame)
            continue
        node = frame.definition.node(frame.state.node)
        if isinstance(node, SubflowNode):
            _step(session, driver, frame)
            continue
        if not isinstance(node, AUTOMATIC):
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
