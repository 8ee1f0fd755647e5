"""Bulk enrollment jobs: a reminder or a reset for many end users pending enrollment.

Starting a job fixes its targets (one BulkJobItem per end user) and enqueues the task after
commit; the task works through the items in batches. Each item is processed in its own
transaction under a row lock and only while it is still pending, so running the task twice
(a retry, a redelivered message) never emails anyone twice. A failure for one end user is
recorded on their item and in the admin audit stream, and the job goes on.

Every step is recorded in the "admin" audit stream (kind admin.bulk_enrollment): the start,
each end user's result, the end.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from pydantic import Field

from enrollment import clock
from enrollment.bulk import PendingFilter, pending_end_users, staff_unit_ids, units_overlap
from enrollment.enums import BulkAction, BulkItemState, BulkJobState, EnrollmentStage, UserStatus
from enrollment.models import BulkJob, BulkJobItem, EndUser, Enrollment, EnrollmentLink
from enrollment.services.links import (
    EnrollmentLinkExpired,
    enrollment_link_issue,
    enrollment_link_resend,
)
from helpdesk.enums import EventKind
from helpdesk.models import AuditChainHead, Staff
from helpdesk.outbox import enqueue_on_commit
from helpdesk.reasons import is_meaningful_reason, reason_problem
from helpdesk.roles import Capability
from helpdesk.services.audit import Payload, audit_event_record, register_payload

logger = logging.getLogger(__name__)

AUDIT_STREAM = "admin"


class BulkJobRefused(Exception):
    """A bulk job cannot start; the message says why and what to do."""


class BulkItemFailed(Exception):
    """One end user cannot be processed; the message is recorded as the reason."""


class BulkEnrollmentPayload(Payload):
    event: str  # started | user | resumed | finished
    job_id: int
    action: str  # BulkAction
    by: str  # the starter's username, so the trail reads on its own
    reason: str = ""
    total: int | None = None
    done: int | None = None
    failed: int | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    outcome: str = ""  # for event "user": done | failed
    detail: str = ""


register_payload(EventKind.BULK_ENROLLMENT, BulkEnrollmentPayload)


def max_users() -> int:
    """The most end users one bulk job may target (BULK_JOB_MAX_USERS)."""
    return getattr(settings, "BULK_JOB_MAX_USERS", 500)


def batch_size() -> int:
    """End users processed between two progress checkpoints (BULK_JOB_BATCH_SIZE)."""
    return getattr(settings, "BULK_JOB_BATCH_SIZE", 50)


def _record(job: BulkJob, *, actor: Staff | None = None, **fields: Any) -> None:
    # The job's starter is the actor of its events, unless someone else resumed it.
    actor = actor or job.created_by
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.BULK_ENROLLMENT,
        actor=actor,
        end_user_id=fields.pop("end_user_id", None),
        payload=BulkEnrollmentPayload(
            job_id=job.pk, action=job.action, by=actor.username, **fields
        ),
    )


@transaction.atomic
def bulk_job_start(
    *,
    actor: Staff,
    action: str,
    filters: PendingFilter,
    reason: str,
    confirmed_count: int,
) -> BulkJob:
    """Starts a bulk `action` for the end users pending enrollment that `actor` sees and
    `filters` select, once `confirmed_count` still matches them.

    Side effects: a BulkJob with one item per end user, an audit event; after commit the
    task bulk_job_run is enqueued with the job id. Raises PermissionDenied without the
    bulk_enrollment capability, BulkJobRefused when the reason is blank, nobody matches,
    more than BULK_JOB_MAX_USERS match, the count changed since it was confirmed, or a job
    for the same administrative unit is still running."""
    if not actor.has_capability(Capability.BULK_ENROLLMENT):
        raise PermissionDenied
    if action not in BulkAction.values:
        raise BulkJobRefused(f"Unknown bulk action {action!r}.")
    reason = reason.strip()
    if not is_meaningful_reason(reason):
        raise BulkJobRefused(reason_problem(reason) or "")
    # Serialise job starts on the admin stream's head (the start event appends to it anyway),
    # so two administrators of one unit cannot both pass the running-job check at once.
    head, _ = AuditChainHead.objects.get_or_create(name=AUDIT_STREAM)
    AuditChainHead.objects.select_for_update().filter(pk=head.pk).first()

    ids = list(pending_end_users(actor, filters).values_list("pk", flat=True))
    cap = max_users()
    if not ids:
        raise BulkJobRefused("No end user pending enrollment matches these filters.")
    if len(ids) > cap:
        raise BulkJobRefused(
            f"{len(ids)} end users match, more than the {cap} one bulk job may reach. "
            "Narrow the filters (a group, an invitation date) and start several jobs."
        )
    if len(ids) != confirmed_count:
        raise BulkJobRefused(
            f"The list changed since you confirmed it: {len(ids)} end users match now, not "
            f"{confirmed_count}. Check the list and confirm the new count."
        )
    units = staff_unit_ids(actor)
    for running in BulkJob.objects.filter(
        state__in=(BulkJobState.QUEUED, BulkJobState.RUNNING)
    ).select_related("created_by"):
        if units_overlap(units, running.unit_ids):
            raise BulkJobRefused(
                f"Bulk job #{running.pk} ({running.get_action_display().lower()}, started by "
                f"{running.created_by.username}) is still running for your administrative "
                "units. Wait for it to finish, then start this one."
            )

    job = BulkJob.objects.create(
        created_by=actor,
        action=action,
        filters=filters.as_data(),
        reason=reason,
        unit_ids=units,
        total=len(ids),
    )
    BulkJobItem.objects.bulk_create(BulkJobItem(job=job, end_user_id=pk) for pk in ids)
    _record(job, event="started", reason=reason, total=job.total, filters=job.filters)

    from enrollment.tasks import bulk_job_run

    job_id = job.pk
    enqueue_on_commit(bulk_job_run, job_id=job_id)
    return job


@transaction.atomic
def bulk_job_resume(*, actor: Staff, job: BulkJob) -> bool:
    """Enqueues an unfinished job again (its message was lost, or the worker stopped):
    end users already processed are skipped. Returns False, doing nothing, once finished.

    Side effects: an audit event; after commit the task bulk_job_run is enqueued. Raises
    PermissionDenied without the bulk_enrollment capability."""
    if not actor.has_capability(Capability.BULK_ENROLLMENT):
        raise PermissionDenied
    job = BulkJob.objects.select_for_update().select_related("created_by").get(pk=job.pk)
    if job.is_finished:
        return False
    _record(job, actor=actor, event="resumed", total=job.total, done=job.done, failed=job.failed)

    from enrollment.tasks import bulk_job_run

    job_id = job.pk
    enqueue_on_commit(bulk_job_run, job_id=job_id)
    return True


def bulk_job_process(*, job_id: int) -> BulkJob:
    """Processes the job's pending items in batches, then marks it finished.

    Safe to run twice: an item already done or failed is skipped, so nobody is emailed
    twice. Side effects per item: the action's directory writes and emails (see
    _remind / _reset), the item's state, the job's counters, an audit event; at the end
    the job's state, finished_at and an audit event."""
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    if job.is_finished:
        return job
    BulkJob.objects.filter(pk=job_id, state=BulkJobState.QUEUED).update(
        state=BulkJobState.RUNNING, started_at=clock.now()
    )
    size = batch_size()
    last_id = 0
    while True:
        batch = list(
            BulkJobItem.objects.filter(job_id=job_id, state=BulkItemState.PENDING, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not batch:
            break
        for item_id in batch:
            _process_item(job, item_id)
        last_id = batch[-1]
    return _finish(job_id)


def _process_item(job: BulkJob, item_id: int) -> None:
    try:
        with transaction.atomic():
            item = (
                BulkJobItem.objects.select_for_update()
                .select_related("end_user")
                .filter(pk=item_id, state=BulkItemState.PENDING)
                .first()
            )
            if item is None:
                return  # done by an earlier run
            detail = _perform(job, item.end_user)
            _settle(job, item, BulkItemState.DONE, detail)
    except BulkItemFailed as refused:
        _fail(job, item_id, str(refused))
    except Exception as exc:
        # One end user's failure must not stop the rest; the reason goes on the item.
        logger.exception("Bulk job %s: end user item %s failed", job.pk, item_id)
        _fail(job, item_id, f"Unexpected error: {exc.__class__.__name__}.")


def _perform(job: BulkJob, end_user: EndUser) -> str:
    end_user = EndUser.objects.select_for_update().get(pk=end_user.pk)
    if end_user.status != UserStatus.PENDING_ENROLLMENT:
        raise BulkItemFailed(
            f"No longer pending enrollment (now {end_user.get_status_display().lower()})."
        )
    if not end_user.email.strip():
        raise BulkItemFailed("No email address of record to send the enrollment email to.")
    if job.action == BulkAction.REMINDER:
        return _remind(end_user)
    return _reset(end_user)


def _remind(end_user: EndUser) -> str:
    """The enrollment email again, keeping the latest link's enroll-by date; a new link
    (a fresh lifetime) when there is none or it has expired."""
    link = EnrollmentLink.objects.filter(end_user=end_user).order_by("-created_at", "-id").first()
    try:
        if link is None:
            raise EnrollmentLinkExpired(clock.now())
        link = enrollment_link_resend(link=link)
        return f"Reminder sent; enroll by {link.enroll_by:%Y-%m-%d %H:%M} UTC (unchanged)."
    except EnrollmentLinkExpired:
        link = enrollment_link_issue(end_user=end_user)
        return f"New enrollment link sent; enroll by {link.enroll_by:%Y-%m-%d %H:%M} UTC."


def _reset(end_user: EndUser) -> str:
    """Starts the enrollment over: a new enrollment at the invited stage and a new link."""
    now = clock.now()
    Enrollment.objects.create(end_user=end_user, stage=EnrollmentStage.INVITED, started_at=now)
    link = enrollment_link_issue(end_user=end_user)
    return f"Enrollment restarted; new link, enroll by {link.enroll_by:%Y-%m-%d %H:%M} UTC."


def _settle(job: BulkJob, item: BulkJobItem, state: str, detail: str) -> None:
    item.state, item.error, item.processed_at = (
        state,
        "" if state == "done" else detail,
        clock.now(),
    )
    item.save(update_fields=["state", "error", "processed_at"])
    counter = "done" if state == BulkItemState.DONE else "failed"
    BulkJob.objects.filter(pk=job.pk).update(**{counter: F(counter) + 1})
    _record(job, event="user", end_user_id=item.end_user_id, outcome=counter, detail=detail)


@transaction.atomic
def _fail(job: BulkJob, item_id: int, reason: str) -> None:
    item = BulkJobItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None or item.state == BulkItemState.FAILED:
        return
    if item.state == BulkItemState.DONE:
        # Committed, then sending failed after commit: count it as failed after all.
        BulkJob.objects.filter(pk=job.pk).update(done=F("done") - 1)
    _settle(job, item, BulkItemState.FAILED, reason[:300])


@transaction.atomic
def _finish(job_id: int) -> BulkJob:
    job = BulkJob.objects.select_for_update().select_related("created_by").get(pk=job_id)
    if job.is_finished or job.items.filter(state=BulkItemState.PENDING).exists():
        return job
    job.state, job.finished_at = BulkJobState.FINISHED, clock.now()
    job.save(update_fields=["state", "finished_at"])
    _record(job, event="finished", total=job.total, done=job.done, failed=job.failed)
    return job
