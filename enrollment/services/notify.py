"""Telling the end user, through a channel the caller does not control, that a recovery
action was performed on their account: an email to the address of record, sent by the MFA
service. If the caller was an impostor, the real person learns of it at once.

The task gets primitive ids and the action's name only; the notice is composed when the task
runs and never carries a code or any other secret.
"""

from django.core.cache import cache

from enrollment.mfa import get_mfa_service
from enrollment.models import EndUser
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.outbox import enqueue_on_commit


def end_user_notify_on_commit(*, event_id: int, end_user_id: int | None = None) -> None:
    """Enqueues the notification task for a recorded action once the surrounding
    transaction commits (the event id is all the task needs)."""
    from enrollment.tasks import notify_end_user_of_recovery

    # Kept in the outbox (and shown on the ticket as delayed) while the broker is down.
    enqueue_on_commit(notify_end_user_of_recovery, end_user_id=end_user_id, event_id=event_id)


def recovery_notice(*, end_user: EndUser, ticket_id: int, action: str) -> tuple[str, str]:
    """The subject and body of the notice for `action` (a name from guards.ACTIONS)."""
    from enrollment.services.guards import ACTIONS

    spec = ACTIONS.get(action)
    what = spec.label if spec else "changed your sign-in settings"
    subject = "A change was made to your sign-in security"
    body = (
        f"Hello {end_user.full_name or end_user.username},\n\n"
        f"The IT helpdesk {what} (ticket #{ticket_id}).\n\n"
        "If you did not ask the helpdesk for this, contact IT security straight away, using "
        "the number on the intranet rather than any number you were given by a caller.\n"
    )
    return subject, body


def end_user_notify(*, event_id: int) -> bool:
    """Sends the notice for the recovery event `event_id` through the MFA service
    (notify_end_user), once: a repeated call for the same event sends nothing (a marker in
    the shared cache). Returns whether a notice was sent. Raises MFAServiceError when the
    service fails (the task retries)."""
    marker = f"enrollment:recovery-notified:{event_id}"
    if cache.get(marker):
        return False
    event = (
        TicketEvent.objects.filter(pk=event_id, kind=EventKind.RECOVERY_ACTION)
        .select_related("end_user")
        .first()
    )
    if event is None or event.end_user is None:
        return False
    subject, body = recovery_notice(
        end_user=event.end_user, ticket_id=event.ticket_id, action=event.payload.get("action", "")
    )
    get_mfa_service().notify_end_user(end_user_id=event.end_user_id, subject=subject, body=body)
    cache.set(marker, 1, 7 * 24 * 3600)
    return True
