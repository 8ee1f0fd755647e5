"""Enqueueing tasks so that a broker outage delays them instead of failing the page.

``enqueue_on_commit(task, end_user_id=…, **kwargs)`` hands the task to the broker once the
surrounding transaction commits. If the broker cannot be reached, the task is written to the
``TaskOutbox`` table instead (the page carries on and the ticket page shows a notice), and it
is sent later: by the beat job ``send_task_outbox`` every minute, and right after the next
enqueue in this process that succeeds. Tasks are idempotent (style guide), so sending one
whose first attempt did reach the broker after all does no harm.

Without a broker (the embedded default, and tests) tasks run in-process as before.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

from helpdesk.models import TaskOutbox

logger = logging.getLogger(__name__)

# Set when this process failed to reach the broker, so the next success also drains the
# outbox; nothing is read from the database while the broker is healthy.
_failed_since_last_drain = False


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    return (OperationalError, RedisError, OSError, TimeoutError)


def _eager(task: Task) -> bool:
    return bool(task.app.conf.task_always_eager)


def enqueue(task: Task, *, end_user_id: int | None = None, **kwargs: Any) -> bool:
    """Sends the task now, or keeps it in the outbox when the broker is unreachable.
    Returns whether it reached the broker (or ran, when tasks run in-process)."""
    global _failed_since_last_drain
    if _eager(task):
        task.apply_async(kwargs=kwargs)
        return True
    try:
        task.apply_async(kwargs=kwargs, retry=False)
    except _broker_errors() as exc:
        _failed_since_last_drain = True
        logger.warning("broker unavailable, %s kept in the outbox: %s", task.name, exc)
        from enrollment import clock

        TaskOutbox.objects.create(
            task=task.name,
            kwargs=kwargs,
            end_user_id=end_user_id,
            created_at=clock.now(),
            attempts=1,
            last_error=str(exc)[:500],
        )
        return False
    if _failed_since_last_drain:
        outbox_send()
    return True


def enqueue_on_commit(task: Task, *, end_user_id: int | None = None, **kwargs: Any) -> None:
    """``enqueue`` once the surrounding transaction commits (services call this)."""
    transaction.on_commit(lambda: enqueue(task, end_user_id=end_user_id, **kwargs))


def outbox_send(*, limit: int = 500) -> int:
    """Sends pending outbox rows in the order they were written, stopping at the first that
    the broker still refuses. Returns how many were sent. Safe to run concurrently: rows are
    claimed with SKIP LOCKED on PostgreSQL."""
    global _failed_since_last_drain
    from celery import current_app

    from enrollment import clock

    sent = 0
    with transaction.atomic():
        rows = list(
            TaskOutbox.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .order_by("id")[:limit]
        )
        for row in rows:
            task = current_app.tasks.get(row.task)
            if task is None:
                row.attempts += 1
                row.last_error = f"no such task {row.task!r}"
                row.save(update_fields=["attempts", "last_error"])
                continue
            try:
                if _eager(task):
                    task.apply_async(kwargs=row.kwargs)
                else:
                    task.apply_async(kwargs=row.kwargs, retry=False)
            except _broker_errors() as exc:
                row.attempts += 1
                row.last_error = str(exc)[:500]
                row.save(update_fields=["attempts", "last_error"])
                return sent
            row.sent_at = clock.now()
            row.save(update_fields=["sent_at"])
            sent += 1
    _failed_since_last_drain = False
    return sent


def delayed_count_for(end_user_id: int) -> int:
    """How many tasks about this end user wait in the outbox (one query)."""
    return TaskOutbox.objects.filter(end_user_id=end_user_id, sent_at__isnull=True).count()
