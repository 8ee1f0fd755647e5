"""Who may work a session and when: the capability and administrative-unit check, the
active-session check, and the row lock that serialises technicians on one session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.http import Http404

from helpdesk.models import Staff, Ticket
from helpdesk.permissions import end_user_in_scope
from helpdesk.roles import Capability
from troubleshooting.models import GuidedSession, SessionStatus
from troubleshooting.sessions.errors import SessionError


def _require(actor: Staff, ticket: Ticket) -> None:
    if not actor.has_capability(Capability.WORK_TICKETS):
        raise PermissionDenied(f"Your role may not do this ({Capability.WORK_TICKETS}).")
    if not end_user_in_scope(actor, ticket.end_user_id):
        raise Http404("No such ticket.")


def _require_active(session: GuidedSession) -> None:
    if session.status != SessionStatus.ACTIVE:
        raise SessionError("This guided session has ended.")


def _lock(session: GuidedSession) -> None:
    """Locks the session row for the rest of the transaction and reloads what may have
    changed since the request read it (another technician's step)."""
    locked = GuidedSession.objects.select_for_update().get(pk=session.pk)
    session.state, session.status = locked.state, locked.status


@contextmanager
def _locked(actor: Staff, session: GuidedSession) -> Iterator[None]:
    """Checks the actor may work the session, then, in one transaction, locks its row and
    checks it is still active: whatever moves a session runs inside, so two technicians
    never move one session at once."""
    _require(actor, session.ticket)
    with transaction.atomic():
        _lock(session)
        _require_active(session)
        yield


def _last_sequence(session: GuidedSession) -> int:
    return session.steps.aggregate(last=Max("sequence"))["last"] or 0
