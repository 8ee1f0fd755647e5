"""The record of a session: one StepRecord and one session.step TicketEvent per step,
the options and answer as the card showed them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

import troubleshooting.events  # noqa: F401  (registers the session.step payload)
from enrollment import clock
from helpdesk.enums import EventKind
from helpdesk.models import Staff, Ticket
from helpdesk.services.audit import ticket_event_record
from helpdesk.services.dashboard import dashboard_ticket_refresh
from troubleshooting import engine, runner
from troubleshooting.events import SessionEventPayload
from troubleshooting.models import GuidedSession, PlaybookVersion, StepRecord
from troubleshooting.schema import PlaybookDefinition, QuestionNode
from troubleshooting.sessions.frames import _save_state, _with_frame_state, session_frame


def _shown(definition: PlaybookDefinition, step: runner.Step, state: engine.SessionState):
    """The options as the card showed them (branch and label) and, for a question, the
    answer under its fact name: a record that reads the same after the playbook changed."""
    node = definition.node(step.node)
    facts = dict(step.facts)
    if isinstance(node, QuestionNode):
        labels = {engine.answer_key(option.value): option.label for option in node.options}
        facts[node.fact] = state.facts.get(node.fact)
    else:
        labels = {}
    options = [{"branch": branch, "label": labels.get(branch, branch)} for branch in step.options]
    return options, facts


def _title_of(definition: PlaybookDefinition, node_id: str | None) -> str | None:
    node = definition.node_map().get(node_id) if node_id else None
    return getattr(node, "title", None) or None


def _record_step(
    session: GuidedSession, actor: Staff, step: runner.Step, state: engine.SessionState
) -> StepRecord:
    frame = session_frame(session)
    options, facts = _shown(frame.definition, step, state)
    node = frame.definition.node_map().get(step.node)
    with transaction.atomic():
        locked = GuidedSession.objects.select_for_update().get(pk=session.pk)
        last = locked.steps.aggregate(last=Max("sequence"))["last"] or 0
        record = StepRecord.objects.create(
            session=locked,
            sequence=last + 1,
            version=frame.version,
            node=step.node,
            kind=step.kind,
            title=step.title,
            prompt=step.prompt,
            options=options,
            branch=step.branch,
            target=step.target,
            evidence=step.evidence,
            facts=facts,
            condition_inputs=step.condition_inputs,
            named_causes=list(step.named_causes),
            error=step.error or "",
            actor=actor,
            at=clock.now(),
        )
        session_event_record(
            session,
            actor,
            "step",
            version=frame.version,
            sequence=record.sequence,
            node=step.node,
            title=step.title or None,
            check=getattr(node, "check", None),
            action=getattr(node, "action", None),
            target_title=_title_of(frame.definition, step.target),
            kind=step.kind,
            branch=step.branch,
            target=step.target,
            evidence=step.evidence,
        )
        _save_state(session, _with_frame_state(session, state))
    return record


def session_event_record(
    session: GuidedSession,
    actor: Staff,
    event: str,
    *,
    ticket: Ticket | None = None,
    version: PlaybookVersion | None = None,
    **fields: Any,
) -> None:
    """Appends a session.step event to the trail of the session's ticket (`ticket`, when
    the caller holds a fresher copy of it); `version` is the playbook version of the step's
    frame (the session's own by default)."""
    version = version or session.version
    ticket_event_record(
        ticket=session.ticket if ticket is None else ticket,
        kind=EventKind.SESSION_STEP,
        actor=actor,
        payload=SessionEventPayload(
            session=session.pk,
            event=event,
            playbook=version.playbook.slug,
            version=version.number,
            **fields,
        ),
    )
    # The dashboard's per-version figures read the session's rows: keep them in step.
    dashboard_ticket_refresh(session.ticket_id)


def session_steps(session: GuidedSession, *, current_only: bool = True) -> list[StepRecord]:
    steps = session.steps.all().order_by("sequence")
    if current_only:
        steps = steps.filter(superseded_at__isnull=True)
    return list(steps)
