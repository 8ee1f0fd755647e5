"""Reads for the device simulator pages.

These pages stand in for the end users' phones and mailboxes, so — unlike anything on the
helpdesk side — they read device-side truth (SimDevice, the inbox, the device's own clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import segno
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from authsim import caller
from authsim.models import Delivery, OtpSecret, Push, PushStatus, SimDevice
from authsim.otp import INTERVAL
from authsim.vocab import APP_PLATFORMS
from enrollment import clock
from enrollment.models import Authenticator, Device, EndUser, Enrollment

PAGE_SIZE = 50


def sim_device_queryset(search: str = "") -> QuerySet[Device]:
    now = clock.now()
    devices = (
        Device.objects.select_related("end_user", "sim")
        .annotate(
            pending_pushes=Count(
                "sim_pushes",
                filter=Q(sim_pushes__status=PushStatus.PENDING, sim_pushes__expires_at__gt=now),
            )
        )
        .order_by("end_user__username", "name", "id")
    )
    if search:
        devices = devices.filter(
            Q(end_user__username__icontains=search)
            | Q(end_user__full_name__icontains=search)
            | Q(name__icontains=search)
        )
    return devices


def sim_device_page(*, search: str = "", page: int | str = 1) -> Page:
    """A page of simulated devices with their owner, truth and pending push count:
    two queries (count and rows) whatever the page size."""
    return Paginator(sim_device_queryset(search), PAGE_SIZE).get_page(page)


def sim_device_get(device_id: int) -> Device | None:
    return Device.objects.select_related("end_user", "sim").filter(pk=device_id).first()


@dataclass(frozen=True)
class Enrolling:
    authenticator: Authenticator
    qr_data_uri: str
    manual_key: str


@dataclass(frozen=True)
class Screen:
    device: Device
    sim: SimDevice
    end_user: EndUser
    device_time: datetime
    pushes: list[Push]
    totp_code: str | None
    totp_seconds_left: int
    sms: list[Delivery]
    email_inbox: list[Delivery]
    email_spam: list[Delivery]
    enrolling: Enrolling | None
    enrollment: Enrollment | None
    authenticators: list[Authenticator]


def sim_device_screen(device: Device) -> Screen:
    """Everything the end user sees on this device (and in their mailbox) right now."""
    from authsim.service import activation_payload

    try:
        sim = device.sim  # loaded with the device by sim_device_get
    except SimDevice.DoesNotExist:
        sim = caller._sim(device)
    user = device.end_user
    device_time = caller.device_time(device, sim)
    pending = (
        Authenticator.objects.filter(
            device=device, status="pending_activation", method__in=["push", "totp"]
        )
        .select_related("end_user")
        .order_by("-created_at", "-id")
        .first()
    )
    enrolling = None
    if pending is not None:
        secret = OtpSecret.objects.filter(authenticator=pending).first()
        if secret is not None:
            payload = activation_payload(pending, secret)
            key = secret.secret
            enrolling = Enrolling(
                pending,
                segno.make(payload, error="m").svg_data_uri(scale=4, border=2),
                " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            )
    return Screen(
        device=device,
        sim=sim,
        end_user=user,
        device_time=device_time,
        pushes=caller.visible_pushes(device, sim),
        totp_code=caller.peek_totp(device, sim=sim) if device.platform in APP_PLATFORMS else None,
        totp_seconds_left=INTERVAL - int(device_time.timestamp()) % INTERVAL,
        sms=caller.inbox(user, channels=("sms", "voice")),
        email_inbox=caller.inbox(user, channels=("email",)),
        email_spam=caller.inbox(user, channels=("email",), folder="spam"),
        enrolling=enrolling,
        enrollment=Enrollment.objects.filter(end_user=user).order_by("-started_at", "-id").first(),
        authenticators=list(
            Authenticator.objects.filter(end_user=user).select_related("device").order_by("id")
        ),
    )


def sim_push_get(device: Device, push_id: int) -> Push | None:
    return Push.objects.filter(device=device, pk=push_id).first()


def sim_push_is_live(push: Push) -> bool:
    return push.status == PushStatus.PENDING and push.expires_at > clock.now()
