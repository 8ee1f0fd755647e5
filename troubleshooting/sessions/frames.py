"""Where a session stands: its engine state and the subflows it is inside (frames),
read from and saved to GuidedSession.state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpdesk.models import Ticket
from troubleshooting import engine
from troubleshooting.models import GuidedSession, PlaybookVersion
from troubleshooting.schema import PlaybookDefinition
from troubleshooting.selectors import playbook_definition

SUBFLOWS = "subflows"


@dataclass(frozen=True)
class Frame:
    """Where the session works now: its own playbook (depth 0) or the sub-playbook a
    subflow node entered, with the version that subflow pinned and its engine state."""

    version: PlaybookVersion
    definition: PlaybookDefinition
    state: engine.SessionState
    depth: int
    # The subflow node of the playbook one level up (None at depth 0).
    entered_from: str | None = None


def _version(pk: int) -> PlaybookVersion:
    return PlaybookVersion.objects.select_related("playbook").get(pk=pk)


def session_frame(session: GuidedSession) -> Frame:
    """The frame the session's current node is in."""
    frames = session.state.get(SUBFLOWS) or []
    if not frames:
        return Frame(session.version, _definition(session), session_state(session), 0)
    top = frames[-1]
    version = _version(top["version"])
    return Frame(
        version,
        playbook_definition(version),
        engine.SessionState.from_dict(top["state"]),
        len(frames),
        top["node"],
    )


def _with_frame_state(session: GuidedSession, state: engine.SessionState) -> dict[str, Any]:
    """session.state with the current frame's engine state replaced (any wait cleared)."""
    frames = session.state.get(SUBFLOWS) or []
    if not frames:
        return state.as_dict()
    outer = {k: v for k, v in session.state.items() if k not in ("pending", SUBFLOWS)}
    return dict(outer, **{SUBFLOWS: [*frames[:-1], dict(frames[-1], state=state.as_dict())]})


def _save_state(session: GuidedSession, state: dict[str, Any]) -> None:
    session.state = state
    GuidedSession.objects.filter(pk=session.pk).update(state=state)


def _definition(session: GuidedSession) -> PlaybookDefinition:
    return playbook_definition(session.version)


def session_state(session: GuidedSession) -> engine.SessionState:
    """The engine state of the session's own playbook (subflows it is inside aside)."""
    return engine.SessionState.from_dict(session.state)


def _base_facts(ticket: Ticket, application: str) -> dict[str, Any]:
    return {"complaint": ticket.category, "application": application or None}
