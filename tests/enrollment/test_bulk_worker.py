"""A bulk job run by a real Celery worker over Redis, the way production runs it."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from authsim.models import Delivery, MessageKind
from enrollment.bulk import PendingFilter
from enrollment.models import BulkJob
from enrollment.services.bulk import bulk_job_start
from helpdesk.celery import app
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import EndUserFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs REDIS_URL (a real broker)"),
]


@pytest.fixture
def worker():
    app.conf.task_always_eager = False
    try:
        # The worker runs in a thread of this process, sharing the test database.
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def _wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_bulk_reminder_is_processed_by_a_worker_over_redis(worker):
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

    finished = _wait_for(lambda: BulkJob.objects.get(pk=job.pk).state == "finished")
    assert finished, "the worker did not finish the bulk job"
    job.refresh_from_db()
    assert (job.done, job.failed) == (3, 0)
    emails = Delivery.objects.filter(end_user__in=users, kind=MessageKind.ENROLLMENT)
    assert sorted(emails.values_list("end_user__username", flat=True)) == [
        "bulk0",
        "bulk1",
        "bulk2",
    ]
