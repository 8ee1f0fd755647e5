"""The payload of the ticket trail's guided-session events (EventKind.SESSION_STEP)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from helpdesk.enums import EventKind
from helpdesk.services.audit import Payload, register_payload


class SessionEventPayload(Payload):
    session: int
    event: Literal["started", "step", "back", "ended", "abandoned"]
    playbook: str
    version: int
    # A step: what StepRecord `sequence` keeps, in short (the record has the rest).
    sequence: int | None = None
    node: str | None = None
    # The node's title as the card showed it, the check or action it ran, and the title of
    # the node it led to: what a person reads on the trail (older events have ids only).
    title: str | None = None
    check: str | None = None
    action: str | None = None
    target_title: str | None = None
    kind: str | None = None
    branch: str | None = None
    target: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    # Going back: the first superseded step.
    superseded_from: int | None = None
    # Ended: how.
    outcome: str | None = None
    root_causes: list[str] = Field(default_factory=list)
    handoff: dict[str, Any] | None = None


register_payload(EventKind.SESSION_STEP, SessionEventPayload)
