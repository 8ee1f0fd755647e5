"""A bulk job run by a real Celery worker over Redis, the way production runs it."""

import pytest
from django.conf import settings

from authsim.models import Delivery, MessageKind
from enrollment.bulk import PendingFilter
from enrollment.models import BulkJob
from enrollment.services.bulk import bulk_job_start
from helpdesk.roles import Role
from tests.conftest import make_staff, wait_for
from tests.factories import EndUserFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs REDIS_URL (a real broker)"),
]


def test_a_bulk_reminder_is_processed_by_a_worker_over_redis(live_worker):
    owner = make_staff(Role.OWNER)
    users = [EndUserFactory(username=f"bulk{n}", status="pending_enrollment") for n in range(3)]

    # Committed at once (no surrounding transaction), so the task is sent to Redis.
    job = bulk_job_start(
        actor=owner,
        action="reminder",
        filters=PendingFilter(),
        reason="Worker test",
        confirmed_count=3,
    )

    finished = wait_for(lambda: BulkJob.objects.get(pk=job.pk).state == "finished")
    assert finished, "the worker did not finish the bulk job"
    job.refresh_from_db()
    assert (job.done, job.failed) == (3, 0)
    emails = Delivery.objects.filter(end_user__in=users, kind=MessageKind.ENROLLMENT)
    assert sorted(emails.values_list("end_user__username", flat=True)) == [
        "bulk0",
        "bulk1",
        "bulk2",
    ]
