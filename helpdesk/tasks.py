"""Scheduled work for tickets and the audit trail (beat schedule in settings)."""

from celery import shared_task

from helpdesk.services.audit import audit_verification_run
from helpdesk.services.staff_setup import setup_link_send
from helpdesk.services.tickets import ticket_sla_escalate_overdue


@shared_task
def escalate_overdue_tickets() -> int:
    """Escalates open tickets past their SLA deadline. Safe to run twice or concurrently:
    a breached ticket is marked and locked rows are skipped."""
    return len(ticket_sla_escalate_overdue())


@shared_task
def verify_audit_chains() -> bool:
    """Walks every audit chain and records the result for the audit review page."""
    return audit_verification_run().ok


@shared_task(ignore_result=True)
def send_task_outbox() -> int:
    """Sends the tasks kept in the outbox while the broker was unreachable. Idempotent."""
    from helpdesk.outbox import outbox_send

    return outbox_send()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_staff_setup_link(*, link_id: int) -> bool:
    """Emails a new staff member their one-time set-up link. Safe to run twice: the token
    is made once, so a second run sends nothing. Retries when the mail server is away."""
    return setup_link_send(link_id=link_id)
