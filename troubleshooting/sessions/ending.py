"""A session reaching its end node: the ticket resolved or escalated with the outcome and
root causes, the handoff packet of an escalation kept."""

from __future__ import annotations

import logging
from dataclasses import replace

from django.db import transaction
from django.db.models import F

from enrollment import clock
from helpdesk.enums import Tier
from helpdesk.models import Staff, Ticket
from helpdesk.services.tickets import TicketError, ticket_escalate, ticket_resolve
from troubleshooting import catalog, runner
from troubleshooting.models import GuidedSession, PlaybookVersion, SessionStatus
from troubleshooting.selectors import playbook_definition
from troubleshooting.sessions.frames import _definition, session_state
from troubleshooting.sessions.trail import session_event_record, session_steps
from troubleshooting.vocab import ESCALATION_OUTCOMES

logger = logging.getLogger(__name__)


def _end(session: GuidedSession, actor: Staff) -> None:
    """Ends the session at its end node: resolves or escalates the ticket with the outcome
    and root causes; an escalation keeps its handoff packet."""
    definition = _definition(session)
    state = session_state(session)
    end = definition.node(state.node)
    diagnosis = session.state.get("diagnosis") or {}
    handoff_definition, handoff_state = definition, state
    if diagnosis.get("found"):
        # The diagnosis the session entered found something: its end is the session's.
        version = PlaybookVersion.objects.get(pk=diagnosis["version"])
        handoff_definition = playbook_definition(version)
        end = handoff_definition.node(diagnosis["node"])
        handoff_state = replace(state, node=end.id)
    steps = session_steps(session)
    # An end names what was found: the causes proved (or named by the end node), else the
    # causes the evidence points at, else "no fault found" beside what was ruled out.
    causes, assessment = catalog.end_findings(
        state.root_causes, state.facts, tried=state.pending_fixes
    )
    packet = runner.handoff(handoff_definition, handoff_state, steps)
    packet.update(outcome=end.outcome, queue=end.queue, next_step=end.next_step)
    packet["root_causes"] = causes
    packet["findings"] = assessment.as_dict()
    outcome = end.outcome
    escalation = outcome in ESCALATION_OUTCOMES
    with transaction.atomic():
        ticket = Ticket.objects.get(pk=session.ticket_id)
        try:
            if escalation:
                tier = Tier.SECURITY if outcome == "escalated_security" else Tier.L2
                ticket_escalate(
                    actor=actor,
                    ticket=ticket,
                    reason=f"Guided session ({end.queue}): {end.next_step}",
                    expected_version=None,
                    to_tier=tier,
                )
                # The escalation service keeps status and tier; the session's findings
                # belong on the ticket as well, for the next queue and for reporting.
                Ticket.objects.filter(pk=ticket.pk).update(
                    outcome=outcome, root_causes=causes, version=F("version") + 1
                )
            else:
                ticket_resolve(
                    actor=actor,
                    ticket=ticket,
                    outcome=outcome,
                    root_causes=causes,
                    expected_version=None,
                    note=f"Guided session {session.pk}: {end.title}",
                )
        except TicketError as exc:
            # The ticket moved on by hand meanwhile (already resolved or escalated): the
            # session still ends, and its findings stay on the session and in the trail.
            logger.info("session %s ended on ticket %s: %s", session.pk, ticket.pk, exc)
        session.status = SessionStatus.ENDED
        session.ended_at = clock.now()
        session.outcome = outcome
        session.root_causes = causes
        session.handoff = packet if escalation else None
        session.save(update_fields=["status", "ended_at", "outcome", "root_causes", "handoff"])
        session_event_record(
            session,
            actor,
            "ended",
            ticket=ticket,
            node=end.id,
            title=end.title or None,
            outcome=outcome,
            root_causes=causes,
            handoff=packet if escalation else None,
        )
        session.ticket.refresh_from_db()
