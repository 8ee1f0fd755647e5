"""A real Celery worker consuming from Redis: the production path for every task."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from authsim.models import Delivery, DeliveryStatus
from enrollment.mfa import get_mfa_service
from helpdesk.celery import app
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


def test_an_email_notice_is_delivered_by_a_worker_over_redis(worker):
    end_user = EndUserFactory(email="dana.lee@example.com")

    get_mfa_service().notify_end_user(
        end_user_id=end_user.pk, subject="Your sign-in was reset", body="Call the desk if not you."
    )

    delivery = Delivery.objects.get(end_user=end_user)
    delivered = _wait_for(
        lambda: Delivery.objects.get(pk=delivery.pk).status != DeliveryStatus.QUEUED
    )
    assert delivered, "the worker did not pick the delivery task up from Redis"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.recipient == "dana.lee@example.com"
    assert delivery.subject == "Your sign-in was reset"
