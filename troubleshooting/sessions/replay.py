"""Going back to an earlier step: later steps superseded, the state rebuilt by replaying
the steps still current inside the subflows they were taken in."""

from __future__ import annotations

from typing import Any

from enrollment import clock
from helpdesk.models import Staff
from troubleshooting import engine
from troubleshooting.models import GuidedSession, PlaybookVersion, StepRecord
from troubleshooting.schema import SubflowNode
from troubleshooting.selectors import playbook_definition, playbook_version_current
from troubleshooting.sessions.access import _locked
from troubleshooting.sessions.driver import SessionDriver
from troubleshooting.sessions.errors import SessionError
from troubleshooting.sessions.flow import _MAX_AUTOMATIC_STEPS, _run_automatic
from troubleshooting.sessions.frames import (
    SUBFLOWS,
    _base_facts,
    _definition,
    _save_state,
    _version,
    session_frame,
)
from troubleshooting.sessions.trail import session_event_record


def session_go_back(*, actor: Staff, session: GuidedSession, sequence: int) -> GuidedSession:
    """Goes back to step `sequence` to answer it again: that step and every later current
    step are marked superseded (kept, never deleted) and the state is rebuilt by replaying
    the steps before it (inside the subflows they were taken in); automatic nodes run again.

    Side effects: superseded_at on StepRecords, a session.step event (back). Raises
    PermissionDenied, Http404, SessionError (no such current step)."""
    with _locked(actor, session):
        locked = GuidedSession.objects.get(pk=session.pk)
        current = list(
            locked.steps.filter(superseded_at__isnull=True)
            .select_related("version__playbook")
            .order_by("sequence")
        )
        if sequence not in {record.sequence for record in current}:
            raise SessionError("That step is no longer part of the session.")
        kept = [record for record in current if record.sequence < sequence]
        state = _replay(session, kept)
        locked.steps.filter(superseded_at__isnull=True, sequence__gte=sequence).update(
            superseded_at=clock.now()
        )
        _save_state(session, state)
        session_event_record(
            session, actor, "back", superseded_from=sequence, node=session_frame(session).state.node
        )
        _run_automatic(session, actor, SessionDriver(session, actor))
    return session


def _replay(session: GuidedSession, records: list[StepRecord]) -> dict[str, Any]:
    """session.state rebuilt from the current step records. A record of another playbook
    version than the current frame's either closes subflows (the subflow node's own record,
    one level up) or lies inside a subflow the frame's current node enters; each subflow
    re-enters the version the session pinned for it."""
    pinned = _pinned_versions(session)
    top = engine.start(_definition(session), _base_facts(session.ticket, session.application))
    # [subflow node id, version, definition, state] per open subflow, innermost last.
    frames: list[list[Any]] = []
    for record in records:
        version_id = record.version_id or session.version_id
        for _ in range(_MAX_AUTOMATIC_STEPS):
            active = frames[-1][1].pk if frames else session.version_id
            if version_id == active:
                break
            outer = [frame[1].pk for frame in frames[:-1]] + [session.version_id]
            if frames and version_id in outer:
                frames.pop()  # the subflow's playbook ended; this record is its node's
                continue
            definition, state = (
                (frames[-1][2], frames[-1][3])
                if frames
                else (
                    _definition(session),
                    top,
                )
            )
            node = definition.node(state.node)
            if not isinstance(node, SubflowNode):
                raise SessionError("The earlier steps cannot be replayed; carry on from here.")
            version = pinned.get(node.playbook) or playbook_version_current(node.playbook)
            sub_definition = playbook_definition(version)
            frames.append(
                [node.id, version, sub_definition, engine.start(sub_definition, dict(state.facts))]
            )
        definition, state = (
            (frames[-1][2], frames[-1][3]) if frames else (_definition(session), top)
        )
        state = engine.step(
            definition,
            state,
            record.branch,
            facts=record.facts,
            named_causes=tuple(record.named_causes),
        )
        if frames:
            frames[-1][3] = state
        else:
            top = state
    result = top.as_dict()
    if frames:
        result[SUBFLOWS] = [
            {
                "node": node_id,
                "playbook": version.playbook.slug,
                "version": version.pk,
                "state": state.as_dict(),
            }
            for node_id, version, _, state in frames
        ]
    return result


def _pinned_versions(session: GuidedSession) -> dict[str, PlaybookVersion]:
    """The version the session pinned for each sub-playbook it entered: from its open
    subflows and from every step recorded in one (superseded ones too)."""
    pinned: dict[str, PlaybookVersion] = {}
    for frame in session.state.get(SUBFLOWS) or []:
        pinned[frame["playbook"]] = _version(frame["version"])
    recorded = (
        session.steps.exclude(version=None)
        .exclude(version_id=session.version_id)
        .select_related("version__playbook")
        .order_by("sequence")
    )
    for record in recorded:
        pinned.setdefault(record.version.playbook.slug, record.version)
    return pinned
