"""A real Celery worker consuming from Redis: the production path for every task."""

import pytest
from django.conf import settings

from authsim.models import Delivery, DeliveryStatus
from enrollment.mfa import get_mfa_service
from tests.conftest import wait_for
from tests.factories import EndUserFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs REDIS_URL (a real broker)"),
]


def test_an_email_notice_is_delivered_by_a_worker_over_redis(live_worker):
    end_user = EndUserFactory(email="dana.lee@example.com")

    get_mfa_service().notify_end_user(
        end_user_id=end_user.pk, subject="Your sign-in was reset", body="Call the desk if not you."
    )

    delivery = Delivery.objects.get(end_user=end_user)
    delivered = wait_for(
        lambda: Delivery.objects.get(pk=delivery.pk).status != DeliveryStatus.QUEUED
    )
    assert delivered, "the worker did not pick the delivery task up from Redis"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.recipient == "dana.lee@example.com"
    assert delivery.subject == "Your sign-in was reset"
