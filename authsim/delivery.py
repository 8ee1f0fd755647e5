"""Delivery channels of the simulated service: push notifications, SMS, voice calls, email.

Services create a `Delivery` (status queued) inside their transaction and enqueue its task
after commit; the task (authsim.tasks) calls `deliver()` here, which applies every provider
and device fault of the fault model:

- push: provider down, a stale push token (rejected), a device offline (stays queued until
  it reconnects), notifications off (delivered, but never shown), a lost phone (delivered to
  a phone nobody holds);
- SMS: provider unconfigured / unhealthy / rate limited, a missing or malformed number,
  carrier delay (the message arrives N seconds of simulated time later);
- voice: provider unhealthy, missing or malformed number;
- email: provider unhealthy, missing address, sender filtered (filed in the spam folder,
  unless the end user has marked the sender as trusted).

`deliver()` is idempotent: a delivery that is no longer queued is left alone, so a task run
twice sends nothing twice. A failed code ends the sign-in attempt waiting on it with
error / delivery_failed; a failed push leaves its attempt to time out with no_response.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.db import transaction

from authsim.models import (
    Attempt,
    AttemptStatus,
    Channel,
    Delivery,
    DeliveryStatus,
    Folder,
    MessageKind,
    ProviderState,
    Push,
    PushStatus,
    SimDevice,
    SimUser,
)
from enrollment import clock
from enrollment.models import EndUser
from helpdesk.outbox import enqueue

# E.164: a plus, a country code that does not start with 0, 8 to 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def recipient_for(end_user: EndUser, channel: str) -> str:
    if channel == Channel.SMS:
        return end_user.mobile
    if channel == Channel.VOICE:
        return end_user.phone or end_user.mobile
    if channel == Channel.EMAIL:
        return end_user.email
    return ""


def queue_message(
    *,
    end_user: EndUser,
    channel: str,
    kind: str,
    subject: str = "",
    body: str = "",
    code: str = "",
    code_timeout_seconds: int | None = None,
    attempt: Attempt | None = None,
    authenticator_id: int | None = None,
) -> Delivery:
    """Records a queued message and enqueues its delivery task after commit.

    Side effects: one Delivery row; `authsim.tasks.deliver_message` after commit."""
    now = clock.now()
    delivery = Delivery.objects.create(
        end_user=end_user,
        channel=channel,
        kind=kind,
        attempt=attempt,
        authenticator_id=authenticator_id,
        recipient=recipient_for(end_user, channel),
        subject=subject,
        body=body,
        code=code,
        created_at=now,
        expires_at=now + timedelta(seconds=code_timeout_seconds) if code else None,
    )
    from authsim.tasks import deliver_message

    end_user_id = end_user.pk
    transaction.on_commit(
        lambda: enqueue(deliver_message, end_user_id=end_user_id, delivery_id=delivery.pk)
    )
    return delivery


def queue_push(push: Push) -> Delivery:
    """Records the push notification for `push` and enqueues its delivery after commit."""
    delivery = Delivery.objects.create(
        end_user_id=push.end_user_id,
        channel=Channel.PUSH,
        kind=MessageKind.PUSH,
        push=push,
        attempt=push.attempt,
        subject=push.application or "Verification request",
        body=push.context,
        created_at=push.created_at,
    )
    from authsim.tasks import deliver_push

    transaction.on_commit(
        lambda: enqueue(deliver_push, end_user_id=push.end_user_id, push_id=push.pk)
    )
    return delivery


@transaction.atomic
def deliver(delivery_id: int) -> None:
    """Runs one queued delivery through its provider and the recipient's circumstances.

    Side effects: the delivery's status/detail/visibility; on failure the sign-in attempt
    waiting on a failed code becomes final (error / delivery_failed); a rejected push fails."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("end_user", "push")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.QUEUED or delivery.detail:
        return
    if delivery.channel == Channel.PUSH:
        _deliver_push(delivery)
    else:
        _deliver_message(delivery)
    delivery.save()
    # A failed code ends the attempt waiting for it. A failed push does not: the sign-in
    # prompt keeps waiting for an answer that cannot come, and times out (no_response).
    failed = delivery.status in (DeliveryStatus.FAILED, DeliveryStatus.RATE_LIMITED)
    if failed and delivery.channel != Channel.PUSH:
        _fail_waiting(delivery)


def _deliver_message(delivery: Delivery) -> None:
    providers = ProviderState.current()
    now = clock.now()
    channel = delivery.channel
    recipient = delivery.recipient
    if channel == Channel.SMS:
        if not providers.sms_configured:
            return _set(delivery, DeliveryStatus.FAILED, "No SMS provider is configured.")
        if not providers.sms_healthy:
            return _set(
                delivery, DeliveryStatus.FAILED, "SMS provider error: service unavailable (503)."
            )
        if providers.sms_rate_limited:
            return _set(
                delivery,
                DeliveryStatus.RATE_LIMITED,
                "SMS provider refused the message: rate limit exceeded (429).",
            )
        if not recipient:
            return _set(delivery, DeliveryStatus.FAILED, "No mobile number on record.")
        if not E164.match(recipient):
            return _set(
                delivery,
                DeliveryStatus.FAILED,
                f"SMS provider rejected the number {recipient!r}: not a valid E.164 number.",
            )
        delay = providers.sms_carrier_delay_seconds
        if delay:
            delivery.visible_at = now + timedelta(seconds=delay)
            return _set(
                delivery,
                DeliveryStatus.DELAYED,
                f"Accepted by the carrier; handset delivery delayed about {delay} s.",
            )
        delivery.visible_at = now
        return _set(delivery, DeliveryStatus.DELIVERED, "Delivered to the handset.")
    if channel == Channel.VOICE:
        if not providers.voice_healthy:
            return _set(delivery, DeliveryStatus.FAILED, "Voice provider error: call not placed.")
        if not recipient:
            return _set(delivery, DeliveryStatus.FAILED, "No phone number on record.")
        if not E164.match(recipient):
            return _set(
                delivery,
                DeliveryStatus.FAILED,
                f"Voice provider rejected the number {recipient!r}: not a valid E.164 number.",
            )
        delivery.visible_at = now
        return _set(delivery, DeliveryStatus.DELIVERED, "Call answered; code read out.")
    # Email.
    if not providers.email_healthy:
        return _set(delivery, DeliveryStatus.FAILED, "Email provider error: message not sent.")
    if not recipient or not EMAIL.match(recipient):
        return _set(delivery, DeliveryStatus.FAILED, "No valid email address on record.")
    delivery.visible_at = now
    trusted = SimUser.objects.filter(end_user_id=delivery.end_user_id, trusts_sender=True)
    if providers.email_sender_filtered and not trusted.exists():
        delivery.folder = Folder.SPAM
        return _set(
            delivery,
            DeliveryStatus.FILTERED,
            "Accepted by the recipient's mail server and filed as spam.",
        )
    return _set(delivery, DeliveryStatus.DELIVERED, "Accepted by the recipient's mail server.")


def _deliver_push(delivery: Delivery) -> None:
    push = delivery.push
    providers = ProviderState.current()
    sim = SimDevice.objects.filter(device_id=push.device_id).first()
    now = clock.now()
    if push.status != PushStatus.PENDING:
        return _set(delivery, DeliveryStatus.FAILED, f"Push already {push.status}.")
    if not providers.push_healthy:
        _fail_push(push, "Push provider unavailable.")
        return _set(delivery, DeliveryStatus.FAILED, "Push provider unavailable.")
    if sim is None or not sim.app_installed or not sim.push_token_valid:
        # The platform's push service answers "unregistered" for a token it no longer knows.
        _fail_push(push, "Push token not registered with the platform's push service.")
        return _set(
            delivery,
            DeliveryStatus.FAILED,
            "Rejected by the platform's push service: device token unregistered.",
        )
    if not sim.reachable:
        return _set(
            delivery,
            DeliveryStatus.QUEUED,
            "Accepted by the platform's push service; the device has not fetched it.",
        )
    delivery.visible_at = now
    _seen(push.device_id, now)
    return _set(delivery, DeliveryStatus.DELIVERED, "Delivered to the device.")


def run_due(*, end_user_id: int | None = None) -> int:
    """Runs deliveries whose task has not run yet, as a worker would have by now.

    The simulated caller calls this whenever simulated time passes, so a simulation run
    inside a transaction (whose after-commit tasks have not fired yet) still sees its
    messages arrive. Safe alongside real workers: `deliver` locks and skips anything
    already processed (a processed delivery always has a detail)."""
    due = Delivery.objects.filter(status=DeliveryStatus.QUEUED, detail="")
    if end_user_id is not None:
        due = due.filter(end_user_id=end_user_id)
    ids = list(due.values_list("pk", flat=True))
    for delivery_id in ids:
        deliver(delivery_id)
    return len(ids)


def release_queued_pushes(device_id: int) -> int:
    """A device came back online: the platform hands it the pushes it was holding.

    Side effects: queued push deliveries for unexpired pending pushes become delivered."""
    now = clock.now()
    queued = Delivery.objects.filter(
        channel=Channel.PUSH,
        status=DeliveryStatus.QUEUED,
        push__device_id=device_id,
        push__status=PushStatus.PENDING,
        push__expires_at__gt=now,
    ).exclude(created_at__gt=now)
    return queued.update(
        status=DeliveryStatus.DELIVERED, detail="Delivered to the device.", visible_at=now
    )


def _seen(device_id: int, at) -> None:
    from enrollment.models import Device

    Device.objects.filter(pk=device_id).update(last_seen_at=at)


def _set(delivery: Delivery, status: str, detail: str) -> None:
    delivery.status = status
    delivery.detail = detail


def _fail_push(push: Push, detail: str) -> None:
    push.status = PushStatus.FAILED
    push.detail = detail
    push.resolved_at = clock.now()
    push.save(update_fields=["status", "detail", "resolved_at"])


def _fail_waiting(delivery: Delivery) -> None:
    if delivery.attempt_id is None:
        return
    Attempt.objects.filter(pk=delivery.attempt_id, status=AttemptStatus.PENDING).update(
        status=AttemptStatus.FINAL,
        result="error",
        reason="delivery_failed",
        detail=delivery.detail[:300],
        resolved_at=clock.now(),
    )
