"""Celery tasks of the directory: thin, primitive ids in, safe to run twice."""

from celery import shared_task

from enrollment.mfa import MFAServiceError


@shared_task(
    ignore_result=True,
    autoretry_for=(MFAServiceError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_end_user_of_recovery(*, event_id: int) -> bool:
    """Emails the end user (through the MFA service's own channel) about the recovery
    action recorded as ticket event `event_id`. Carries no code and no secret."""
    from enrollment.services.notify import end_user_notify

    return end_user_notify(event_id=event_id)


@shared_task(ignore_result=True)
def expire_bypass_codes() -> int:
    """Moves end users whose bypass codes have all run out or expired out of `bypass`
    status. Idempotent; returns how many end users changed."""
    from enrollment.services.bypass import bypass_statuses_refresh

    return len(bypass_statuses_refresh())


@shared_task(ignore_result=True, acks_late=True)
def bulk_job_run(*, job_id: int) -> int:
    """Works through bulk job `job_id` (a reminder or reset for many end users pending
    enrollment). Safe to run twice: end users already processed are skipped. Returns how
    many end users the job has processed so far."""
    from enrollment.services.bulk import bulk_job_process

    return bulk_job_process(job_id=job_id).processed


@shared_task(ignore_result=True)
def sync_directory() -> int:
    """Imports the MFA service's users and tokens into the directory (services that own
    the directory only; nothing to do with the simulator). Idempotent; returns how many
    changes it made."""
    from enrollment.mfa import CAPABILITY_DIRECTORY_SYNC, get_mfa_service
    from enrollment.services.directory_sync import directory_sync

    if not get_mfa_service().supports(CAPABILITY_DIRECTORY_SYNC):
        return 0
    return len(directory_sync().changes)
