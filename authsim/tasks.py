"""Delivery tasks of the simulated MFA service.

Thin and idempotent: primitive ids in, `authsim.delivery.deliver` does the work and leaves a
delivery that is no longer queued alone, so a retried or duplicated task sends nothing twice.
Services enqueue them after commit (authsim.delivery.queue_message / queue_push).
"""

from celery import shared_task

from authsim import delivery
from authsim.models import Delivery


@shared_task(ignore_result=True)
def deliver_message(*, delivery_id: int) -> None:
    """Sends one SMS, voice call or email through its (simulated) provider."""
    delivery.deliver(delivery_id)


@shared_task(ignore_result=True)
def deliver_push(*, push_id: int) -> None:
    """Sends the push notification of one push request to its device."""
    delivery_id = Delivery.objects.filter(push_id=push_id).values_list("pk", flat=True).first()
    if delivery_id is not None:
        delivery.deliver(delivery_id)
