"""Reads for the device simulator pages.

These pages stand in for the end users' phones and mailboxes, so — unlike anything on the
helpdesk side — they read device-side truth (SimDevice, the inbox, the device's own clock).
Like every read about an end user they are scoped to the staff member's administrative
units (a device outside them is missing), and what only the caller should see (the app's
code, the inboxes, the enrollment key) is read only for staff who may act as the caller.
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
from enrollment.models import Authenticator, Device, EndUser, Enrollment, IdentityVerification
from helpdesk.models import Staff
from helpdesk.roles import Capability
from helpdesk.scoping import end_user_scope_q

PAGE_SIZE = 50


def may_act_as_caller(staff: Staff) -> bool:
    """Whether `staff` may act on a simulated device and see what only its owner sees."""
    return staff.has_capability(Capability.OPERATE_DEVICES)


def _visible_devices(staff: Staff) -> QuerySet[Device]:
    scope = end_user_scope_q(staff, groups_path="end_user__groups")
    if not scope:
        return Device.objects.all()
    # A subquery, not a join: an end user in two of the unit's groups is one device row.
    return Device.objects.filter(pk__in=Device.objects.filter(scope).values("pk"))


def sim_device_queryset(staff: Staff, search: str = "") -> QuerySet[Device]:
    now = clock.now()
    devices = (
        _visible_devices(staff)
        .select_related("end_user", "sim")
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


def sim_device_page(staff: Staff, *, search: str = "", page: int | str = 1) -> Page:
    """A page of the simulated devices `staff` may see, with their owner, truth and pending
    push count: two queries (count and rows) whatever the page size."""
    return Paginator(sim_device_queryset(staff, search), PAGE_SIZE).get_page(page)


def sim_device_get(staff: Staff, device_id: int) -> Device | None:
    """The device, or None when there is none or its owner is outside `staff`'s units."""
    return _visible_devices(staff).select_related("end_user", "sim").filter(pk=device_id).first()


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
    # Whether the viewer may act as the caller; without it the code, the inboxes and the
    # enrollment key are not read at all (None / empty above).
    may_act: bool
    # Pending verification pushes on screen that the viewer sent and so may not answer.
    own_verification_push_ids: frozenset[int]


def own_verification_push_ids(staff: Staff, pushes: list[Push]) -> frozenset[int]:
    """Of `pushes`, the ids of those that are identity-verification pushes `staff` sent
    (outside the demo run they must be answered by the caller, never by the requester)."""
    if not pushes:
        return frozenset()
    by_public_id = {push.public_id: push.pk for push in pushes}
    requested = IdentityVerification.objects.filter(
        push_id__in=list(by_public_id), requested_by=staff
    ).values_list("push_id", flat=True)
    return frozenset(by_public_id[public_id] for public_id in requested)


def sim_device_screen(device: Device, *, viewer: Staff, demo_mode: bool = False) -> Screen:
    """Everything the end user sees on this device (and in their mailbox) right now, as far
    as `viewer` may see it."""
    from authsim.service import activation_payload

    try:
        sim = device.sim  # loaded with the device by sim_device_get
    except SimDevice.DoesNotExist:
        sim = caller._sim(device)
    user = device.end_user
    may_act = may_act_as_caller(viewer)
    device_time = caller.device_time(device, sim)
    pending = (
        Authenticator.objects.filter(
            device=device, status="pending_activation", method__in=["push", "totp"]
        )
        .select_related("end_user")
        .order_by("-created_at", "-id")
        .first()
        if may_act
        else None
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
    pushes = caller.visible_pushes(device, sim)
    shows_code = may_act and device.platform in APP_PLATFORMS
    return Screen(
        device=device,
        sim=sim,
        end_user=user,
        device_time=device_time,
        pushes=pushes,
        totp_code=caller.peek_totp(device, sim=sim) if shows_code else None,
        totp_seconds_left=INTERVAL - int(device_time.timestamp()) % INTERVAL,
        sms=caller.inbox(user, channels=("sms", "voice")) if may_act else [],
        email_inbox=caller.inbox(user, channels=("email",)) if may_act else [],
        email_spam=caller.inbox(user, channels=("email",), folder="spam") if may_act else [],
        enrolling=enrolling,
        enrollment=Enrollment.objects.filter(end_user=user).order_by("-started_at", "-id").first(),
        authenticators=list(
            Authenticator.objects.filter(end_user=user).select_related("device").order_by("id")
        ),
        may_act=may_act,
        own_verification_push_ids=(
            frozenset() if demo_mode or not may_act else own_verification_push_ids(viewer, pushes)
        ),
    )


def sim_push_get(device: Device, push_id: int) -> Push | None:
    return Push.objects.filter(device=device, pk=push_id).first()


def sim_push_is_live(push: Push) -> bool:
    return push.status == PushStatus.PENDING and push.expires_at > clock.now()
