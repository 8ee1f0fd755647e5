"""Starting a guided session on a ticket, resuming it, abandoning it."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404

from enrollment import clock
from helpdesk.models import Staff, Ticket
from helpdesk.services.tickets import ticket_first_response_mark
from troubleshooting import engine, runner
from troubleshooting.models import GuidedSession, SessionStatus
from troubleshooting.selectors import playbook_definition, playbook_version_for_complaint
from troubleshooting.sessions.access import _require, _require_active
from troubleshooting.sessions.driver import SessionDriver
from troubleshooting.sessions.errors import SessionError
from troubleshooting.sessions.flow import _run_automatic
from troubleshooting.sessions.frames import _base_facts
from troubleshooting.sessions.trail import session_event_record


def session_start(
    *,
    actor: Staff,
    ticket: Ticket,
    application: str = "",
    driver: runner.Driver | None = None,
) -> GuidedSession:
    """Starts a guided session on the ticket, pinned to the current published version of
    the playbook for its complaint, and runs its automatic first nodes.

    Side effects: a GuidedSession, a session.step event (started), the ticket's "first
    answered" when not set yet, StepRecords and events for the automatic steps. Raises
    PermissionDenied, Http404, SessionError (an active session exists, no published playbook
    for the complaint)."""
    _require(actor, ticket)
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").get()
        if GuidedSession.objects.filter(ticket=ticket, status=SessionStatus.ACTIVE).exists():
            raise SessionError("This ticket already has an active guided session; resume it.")
        version = playbook_version_for_complaint(ticket.category)
        if version is None:
            raise SessionError(f"No playbook is published for {ticket.category} complaints.")
        definition = playbook_definition(version)
        state = engine.start(definition, _base_facts(ticket, application))
        session = GuidedSession.objects.create(
            ticket=ticket,
            version=version,
            application=application,
            state=state.as_dict(),
            started_by=actor,
            started_at=clock.now(),
        )
        session_event_record(session, actor, "started")
        ticket_first_response_mark(ticket=ticket, actor=actor)
    _run_automatic(session, actor, driver or SessionDriver(session, actor))
    return session


def session_resume(*, actor: Staff, ticket: Ticket) -> GuidedSession:
    """The ticket's active session, to carry on where it was left. Raises
    PermissionDenied, Http404 (out of scope, or no active session)."""
    _require(actor, ticket)
    session = (
        GuidedSession.objects.select_related("version__playbook", "ticket")
        .filter(ticket=ticket, status=SessionStatus.ACTIVE)
        .first()
    )
    if session is None:
        raise Http404("No active guided session on this ticket.")
    return session


def session_abandon(*, actor: Staff, session: GuidedSession, reason: str = "") -> GuidedSession:
    """Stops the session without an outcome for the ticket (the ticket stays as it is).
    Side effects: status abandoned, a session.step event. Raises PermissionDenied, Http404,
    SessionError (already ended)."""
    _require(actor, session.ticket)
    _require_active(session)
    with transaction.atomic():
        session.status = SessionStatus.ABANDONED
        session.ended_at = clock.now()
        session.outcome = "abandoned"
        session.save(update_fields=["status", "ended_at", "outcome"])
        session_event_record(session, actor, "abandoned", outcome="abandoned")
    return session
