"""The end user's side: caller actions, and what the end user sees and does on their devices.

design.md's caller actions are implemented once, here, as functions that change the
simulated device (and, where the real app would talk to the service, the service's records).
The device simulator pages call them from their buttons; the automated caller of
simulate_case calls them when a playbook tells the caller what to do.

    perform(action, end_user_id=..., device_id=...) -> ActionResult

Every action returns ok and a sentence the caller would say ("Notifications are on now.",
"The camera is still blocked, I can't scan it."). An action that cannot work (the phone is
lost, there is no email in the inbox, the link has expired) returns ok=False and changes
nothing, except that an enrollment step that fails records its enrollment error.

Reading functions (`visible_pushes`, `current_code`, `inbox`) and `sign_in_as_end_user` play
the end user signing in: they read device-side truth, which is exactly what the helpdesk
must never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from authsim import delivery, otp, signin
from authsim.models import (
    Delivery,
    DeliveryStatus,
    Folder,
    MessageKind,
    OtpSecret,
    Push,
    PushStatus,
    SimDevice,
    SimUser,
)
from authsim.vocab import APP_PLATFORMS, CALLER_ACTIONS, version_below
from enrollment import clock
from enrollment.mfa import SignInAttempt, get_mfa_service
from enrollment.models import ActivationLink, Authenticator, Device, EndUser, Enrollment
from enrollment.policy import effective_policy

# The app version the store offers today.
LATEST_APP_VERSION = "4.92"
# The newest system each phone platform can install today.
LATEST_OS_VERSIONS = {"ios": "18.1", "android": "15"}


@dataclass(frozen=True)
class ActionResult:
    action: str
    ok: bool
    message: str


class UnknownAction(ValueError):
    pass


# --- Helpers ------------------------------------------------------------------------------


def _sim(device: Device) -> SimDevice:
    """The device's simulated truth, read afresh (another request may just have changed it);
    created as a healthy phone for a device added outside a scenario."""
    sim, _ = SimDevice.objects.get_or_create(
        device=device, defaults={"app_version": device.app_version}
    )
    return sim


def _device_for(end_user: EndUser, device_id: int | None) -> Device | None:
    """The device named, or the end user's phone: the app device they still have (of
    several, the newest one, a replacement they now carry; the old one is only reached
    through what the service sends to it)."""
    devices = Device.objects.filter(end_user=end_user).select_related("sim")
    if device_id is not None:
        return devices.filter(pk=device_id).first()
    candidates = [d for d in devices if d.platform in APP_PLATFORMS]
    held = sorted((d for d in candidates if not _sim(d).lost), key=lambda d: -d.pk)
    return (held or candidates or list(devices) or [None])[0]


def _checked_in(device: Device, sim: SimDevice) -> None:
    """The app talked to the service: it now knows the app version and the time."""
    if sim.reachable and sim.app_installed:
        device.last_seen_at = clock.now()
        device.app_version = sim.app_version
        device.save(update_fields=["last_seen_at", "app_version"])


def _latest_enrollment(end_user: EndUser) -> Enrollment:
    enrollment = Enrollment.objects.filter(end_user=end_user).order_by("-started_at", "-id").first()
    if enrollment is None:
        enrollment = Enrollment.objects.create(end_user=end_user, stage="invited")
    return enrollment


def _fail(action: str, message: str) -> ActionResult:
    return ActionResult(action, False, message)


def _ok(action: str, message: str) -> ActionResult:
    return ActionResult(action, True, message)


def _lost(action: str) -> ActionResult:
    return _fail(action, "I don't have that phone any more.")


def primary_device(end_user: EndUser) -> Device | None:
    """The device the caller reaches for first: their phone (one they still have)."""
    return _device_for(end_user, None)


def device_state(device: Device) -> SimDevice:
    """What is true on the device (device-side truth: the caller's knowledge, never the
    helpdesk's)."""
    return _sim(device)


# --- Device settings ----------------------------------------------------------------------


def enable_notifications(end_user: EndUser, device: Device) -> ActionResult:
    sim = _sim(device)
    sim.notifications_enabled = True
    sim.save(update_fields=["notifications_enabled"])
    return _ok("enable_notifications", "Notifications for the app are on now.")


def reconnect_network(end_user: EndUser, device: Device) -> ActionResult:
    sim = _sim(device)
    sim.online = True
    if sim.network == "none":
        sim.network = "wifi"
    sim.save(update_fields=["online", "network"])
    _checked_in(device, sim)
    released = delivery.release_queued_pushes(device.pk) if sim.push_token_valid else 0
    extra = " A request just popped up." if released else ""
    return _ok("reconnect_network", f"I'm back on Wi-Fi.{extra}")


def enable_automatic_time(end_user: EndUser, device: Device) -> ActionResult:
    sim = _sim(device)
    sim.automatic_time = True
    sim.clock_offset_seconds = 0
    sim.save(update_fields=["automatic_time", "clock_offset_seconds"])
    return _ok("enable_automatic_time", "Automatic date and time is on; the clock corrected.")


def update_app(end_user: EndUser, device: Device) -> ActionResult:
    if device.platform not in APP_PLATFORMS:
        return _fail("update_app", "There is no app on this device.")
    sim = _sim(device)
    sim.app_installed = True
    sim.app_version = LATEST_APP_VERSION
    sim.save(update_fields=["app_installed", "app_version"])
    _checked_in(device, sim)
    return _ok("update_app", f"The app is updated to {LATEST_APP_VERSION}.")


def update_os(end_user: EndUser, device: Device) -> ActionResult:
    """Installs the newest system the phone's platform offers; the app reports the new
    version to the service the next time it checks in (straight away when online)."""
    latest = LATEST_OS_VERSIONS.get(device.platform)
    if latest is None:
        return _fail("update_os", "There is no system update for this device.")
    if not version_below(device.os_version, latest):
        return _fail("update_os", f"It says {device.os_version} is already the newest.")
    device.os_version = latest
    device.save(update_fields=["os_version"])
    _checked_in(device, _sim(device))
    return _ok("update_os", f"The phone restarted on system version {latest}.")


def reinstall_app(end_user: EndUser, device: Device) -> ActionResult:
    """A fresh install registers a fresh push token with the service (restoring the
    account from the app's backup keeps the authenticator)."""
    if device.platform not in APP_PLATFORMS:
        return _fail("reinstall_app", "There is no app on this device.")
    sim = _sim(device)
    sim.app_installed = True
    sim.app_version = LATEST_APP_VERSION
    sim.push_token_valid = True
    sim.save(update_fields=["app_installed", "app_version", "push_token_valid"])
    if sim.reachable:
        has_push = Authenticator.objects.filter(device=device, method="push", status="active")
        device.push_capable = has_push.exists()
        device.save(update_fields=["push_capable"])
    _checked_in(device, sim)
    return _ok("reinstall_app", "I deleted the app and installed it again.")


def grant_camera_permission(end_user: EndUser, device: Device) -> ActionResult:
    sim = _sim(device)
    sim.camera_permission = True
    sim.save(update_fields=["camera_permission"])
    return _ok("grant_camera_permission", "The app may use the camera now.")


def check_spam_folder(end_user: EndUser, device: Device | None) -> ActionResult:
    """Moves the service's messages out of spam and marks the sender as trusted, so later
    messages reach the inbox."""
    moved = Delivery.objects.filter(
        end_user=end_user, channel="email", folder=Folder.SPAM, visible_at__isnull=False
    ).update(folder=Folder.INBOX)
    SimUser.objects.update_or_create(end_user=end_user, defaults={"trusts_sender": True})
    if moved:
        return _ok("check_spam_folder", f"Found {moved} in the spam folder; marked it not spam.")
    return _ok("check_spam_folder", "Nothing in the spam folder; I marked the sender safe anyway.")


def enter_code_promptly(end_user: EndUser, device: Device | None) -> ActionResult:
    """The caller keeps the sign-in page open and types the newest code as soon as it
    arrives, before it expires."""
    SimUser.objects.update_or_create(end_user=end_user, defaults={"response_delay_seconds": 0})
    return _ok("enter_code_promptly", "I'll type the newest code the moment it arrives.")


# --- Enrollment ---------------------------------------------------------------------------


def open_enrollment_link(end_user: EndUser, device: Device | None) -> ActionResult:
    """Opens the newest enrollment invitation in the inbox. The enrollment page creates a
    push authenticator for the phone and shows its activation QR code and key."""
    action = "open_enrollment_link"
    now = clock.now()
    invitation = (
        Delivery.objects.filter(
            end_user=end_user,
            channel="email",
            kind=MessageKind.ENROLLMENT,
            folder=Folder.INBOX,
            visible_at__lte=now,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if invitation is None:
        return _fail(action, "I can't find any enrollment email in my inbox.")
    link = end_user.enrollment_links.order_by("-created_at", "-id").first()
    enrollment = _latest_enrollment(end_user)
    if link is None or link.is_expired(now):
        enrollment.error = "link_expired"
        enrollment.save(update_fields=["error", "updated_at"])
        return _fail(action, "The page says the enrollment link has expired.")
    if device is None or device.platform not in APP_PLATFORMS:
        return _fail(action, "I have no smartphone to set up.")
    sim = _sim(device)
    if sim.lost:
        return _lost(action)
    authenticator = (
        Authenticator.objects.filter(end_user=end_user, device=device, method__in=["push", "totp"])
        .exclude(status="revoked")
        .order_by("-created_at", "-id")
        .first()
    )
    if authenticator is None:
        first = (end_user.full_name or end_user.username).split()[0]
        authenticator = Authenticator.objects.create(
            end_user=end_user,
            device=device,
            method="push",
            status="pending_activation",
            name=f"{first}'s {device.get_platform_display()}",
            created_at=now,
        )
        from authsim.service import provision_secret

        provision_secret(authenticator)
        ActivationLink.objects.create(
            authenticator=authenticator, created_at=now, expires_at=now + timedelta(hours=24)
        )
    enrollment.authenticator = authenticator
    enrollment.error = None
    stages = ["invited", "link_opened", "app_installed"]
    reached = "app_installed" if sim.app_installed else "link_opened"
    if enrollment.stage in stages and stages.index(enrollment.stage) < stages.index(reached):
        enrollment.stage = reached
    enrollment.save()
    if not sim.app_installed:
        sim.app_installed = True
        sim.app_version = LATEST_APP_VERSION
        sim.save(update_fields=["app_installed", "app_version"])
        enrollment.stage = "app_installed"
        enrollment.save(update_fields=["stage", "updated_at"])
    return _ok(action, "The enrollment page opened and shows a QR code.")


def _activate(action: str, end_user: EndUser, device: Device, *, by_camera: bool) -> ActionResult:
    sim = _sim(device)
    if sim.lost:
        return _lost(action)
    now = clock.now()
    authenticator = (
        Authenticator.objects.filter(
            end_user=end_user,
            device=device,
            status="pending_activation",
            method__in=["push", "totp"],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if authenticator is None:
        return _fail(action, "There's nothing waiting to be activated on this phone.")
    enrollment = _latest_enrollment(end_user)
    if not sim.app_installed:
        return _fail(action, "I don't have the authenticator app.")
    if by_camera and not sim.camera_permission:
        return _fail(action, "The app says it has no access to the camera.")
    policy = effective_policy(end_user, None)
    minimum = (policy.min_os_versions.value or {}).get(device.platform)
    if version_below(device.os_version, minimum):
        enrollment.error = "device_incompatible"
        enrollment.save(update_fields=["error", "updated_at"])
        return _fail(action, f"The app says my phone's system ({device.os_version}) is too old.")
    link = (
        ActivationLink.objects.filter(authenticator=authenticator).order_by("-created_at").first()
    )
    if link is not None and (link.used_at is not None or link.is_expired(now)):
        enrollment.error = "activation_expired"
        enrollment.save(update_fields=["error", "updated_at"])
        return _fail(action, "The app says the activation code has expired.")
    duplicate = (
        Authenticator.objects.filter(end_user=end_user, name=authenticator.name)
        .exclude(pk=authenticator.pk)
        .exists()
    )
    if duplicate and authenticator.name:
        enrollment.error = "duplicate_name"
        enrollment.save(update_fields=["error", "updated_at"])
        return _fail(action, f"It says the name {authenticator.name!r} is already in use.")
    if not sim.reachable:
        return _fail(action, "It spins and then says it can't reach the server.")
    secret = OtpSecret.objects.filter(authenticator=authenticator).first()
    if secret is None:
        from authsim.service import provision_secret

        secret = provision_secret(authenticator)
    secret.device_secret = secret.secret
    secret.save(update_fields=["device_secret"])
    authenticator.status = "active"
    authenticator.activated_at = now
    authenticator.save(update_fields=["status", "activated_at"])
    if link is not None:
        link.used_at = now
        link.save(update_fields=["used_at"])
    sim.push_token_valid = True
    sim.save(update_fields=["push_token_valid"])
    device.push_capable = device.push_capable or authenticator.method == "push"
    device.save(update_fields=["push_capable"])
    _checked_in(device, sim)
    enrollment.authenticator = authenticator
    enrollment.stage = "activated"
    enrollment.error = None
    enrollment.completed_at = now
    enrollment.save()
    if end_user.status == "pending_enrollment":
        end_user.status = "active"
        end_user.save(update_fields=["status", "updated_at"])
    return _ok(action, "Done — the app shows my account now.")


def scan_qr_code(end_user: EndUser, device: Device) -> ActionResult:
    return _activate("scan_qr_code", end_user, device, by_camera=True)


def enter_manual_key(end_user: EndUser, device: Device) -> ActionResult:
    """Types the setup key — carefully this time."""
    return _activate("enter_manual_key", end_user, device, by_camera=False)


def rename_authenticator(end_user: EndUser, device: Device | None) -> ActionResult:
    pending = (
        Authenticator.objects.filter(end_user=end_user, status="pending_activation")
        .order_by("-created_at", "-id")
        .first()
    )
    if pending is None:
        return _fail("rename_authenticator", "I have nothing to rename.")
    taken = set(
        Authenticator.objects.filter(end_user=end_user)
        .exclude(pk=pending.pk)
        .values_list("name", flat=True)
    )
    base = pending.name or "My authenticator"
    name, n = f"{base} (new)", 2
    while name in taken:
        name, n = f"{base} ({n})", n + 1
    pending.name = name
    pending.save(update_fields=["name"])
    Enrollment.objects.filter(end_user=end_user, error="duplicate_name").update(error=None)
    return _ok("rename_authenticator", f"I called it {name!r}.")


def sign_out_and_in(end_user: EndUser, device: Device | None) -> ActionResult:
    SimUser.objects.update_or_create(end_user=end_user, defaults={"session_valid_until": None})
    return _ok("sign_out_and_in", "I signed out; it asks me to sign in again.")


# --- What the caller can tell ---------------------------------------------------------------


def caller_tells(end_user: EndUser, item: str) -> str:
    """What the end user reads out when the helpdesk asks (device-side truth): the serial
    printed on their hardware token, or the number of the mobile phone they carry. Blank
    when they have no such thing."""
    if item == "token_serial":
        tokens = Device.objects.filter(end_user=end_user, platform="hardware_token")
        for token in tokens.order_by("id"):
            sim = _sim(token)
            if not sim.lost and sim.serial:
                return sim.serial
        return ""
    if item == "mobile_number":
        own = SimUser.objects.filter(end_user=end_user).values_list("own_mobile", flat=True)
        return (own.first() or "") or end_user.mobile
    if item in ("first_code", "second_code"):
        return _resync_code(end_user, second=item == "second_code")
    if item == "lost_device":
        # The device they no longer have, by the name the helpdesk reads out to them.
        for device in Device.objects.filter(end_user=end_user).order_by("id"):
            if _sim(device).lost:
                return device.name
        return ""
    raise UnknownAction(f"The caller cannot tell {item!r}.")


def _resync_code(end_user: EndUser, *, second: bool) -> str:
    """One of two consecutive codes for a resynchronisation: a hardware token shows the next
    code at each press; the app shows the next one after waiting for it (one time step)."""
    generators = Authenticator.objects.filter(
        end_user=end_user, method__in=("hotp_token", "totp"), device__isnull=False
    ).exclude(status="revoked")
    for authenticator in generators.select_related("device").order_by("-method", "id"):
        if _sim(authenticator.device).lost:
            continue
        if authenticator.method == "totp" and second:
            _wait(otp.INTERVAL)
        return current_code(authenticator.device, authenticator) or ""
    return ""


def token_serial_matches(end_user: EndUser) -> bool:
    """Whether the serial printed on the caller's token is the one the technician reads out
    from the record (the caller compares them)."""
    token = (
        Authenticator.objects.filter(end_user=end_user, method="hotp_token")
        .exclude(status="revoked")
        .select_related("device")
        .order_by("-created_at", "-id")
        .first()
    )
    if token is None:
        return True
    printed = caller_tells(end_user, "token_serial")
    return not printed or printed.strip().upper() == (token.serial or "").strip().upper()


# --- Answering pushes ---------------------------------------------------------------------


def visible_pushes(device: Device, sim: SimDevice | None = None) -> list[Push]:
    """Pending pushes the end user can see on this device right now (`sim`: the device's
    state when the caller has just loaded it)."""
    sim = sim or _sim(device)
    if sim.lost or not sim.app_installed or not sim.notifications_enabled or not sim.reachable:
        return []
    now = clock.now()
    return list(
        Push.objects.filter(
            device=device,
            status=PushStatus.PENDING,
            expires_at__gt=now,
            delivery__status=DeliveryStatus.DELIVERED,
            delivery__visible_at__lte=now,
        ).order_by("-created_at", "-id")
    )


def approve_push(end_user: EndUser, device: Device, *, push_id: int | None = None) -> ActionResult:
    return _answer("approve_push", device, approve=True, push_id=push_id)


def deny_push(
    end_user: EndUser, device: Device, *, fraud: bool = False, push_id: int | None = None
) -> ActionResult:
    return _answer("deny_push", device, approve=False, fraud=fraud, push_id=push_id)


def _answer(
    action: str,
    device: Device,
    *,
    approve: bool,
    fraud: bool = False,
    push_id: int | None = None,
) -> ActionResult:
    """Answers the newest request on the screen, or exactly `push_id` when given (the
    request the person pressed the button on, which the page checked they may answer)."""
    if _sim(device).lost:
        return _lost(action)
    pushes = visible_pushes(device)
    if push_id is not None:
        pushes = [push for push in pushes if push.pk == push_id]
    if not pushes:
        return _fail(action, "I don't see any request on my phone.")
    signin.answer_push(pushes[0].pk, approve=approve, fraud=fraud)
    if approve:
        return _ok(action, "I tapped Approve.")
    return _ok(action, "I tapped Deny and said it wasn't me." if fraud else "I tapped Deny.")


# --- The registry -------------------------------------------------------------------------

DEVICE_ACTIONS: dict[str, Callable[..., ActionResult]] = {
    "enable_notifications": enable_notifications,
    "reconnect_network": reconnect_network,
    "enable_automatic_time": enable_automatic_time,
    "update_app": update_app,
    "update_os": update_os,
    "reinstall_app": reinstall_app,
    "grant_camera_permission": grant_camera_permission,
    "scan_qr_code": scan_qr_code,
    "enter_manual_key": enter_manual_key,
    "approve_push": approve_push,
    "deny_push": deny_push,
}
USER_ACTIONS: dict[str, Callable[..., ActionResult]] = {
    "check_spam_folder": check_spam_folder,
    "open_enrollment_link": open_enrollment_link,
    "rename_authenticator": rename_authenticator,
    "sign_out_and_in": sign_out_and_in,
    "enter_code_promptly": enter_code_promptly,
}
ACTIONS = {**DEVICE_ACTIONS, **USER_ACTIONS}
assert set(ACTIONS) == set(CALLER_ACTIONS)

ACTION_LABELS: dict[str, str] = {
    "enable_notifications": "Turn on notifications",
    "reconnect_network": "Reconnect to the network",
    "enable_automatic_time": "Turn on automatic time",
    "update_app": "Update the app",
    "update_os": "Update the phone's system",
    "reinstall_app": "Reinstall the app",
    "grant_camera_permission": "Allow camera access",
    "check_spam_folder": "Check the spam folder",
    "open_enrollment_link": "Open the enrollment link",
    "scan_qr_code": "Scan the QR code",
    "enter_manual_key": "Type the key by hand",
    "rename_authenticator": "Rename the authenticator",
    "sign_out_and_in": "Sign out and back in",
    "approve_push": "Approve",
    "deny_push": "Deny",
    "enter_code_promptly": "Type the newest code straight away",
}


def perform(
    action: str,
    *,
    end_user_id: int,
    device_id: int | None = None,
    fraud: bool = False,
    push_id: int | None = None,
) -> ActionResult:
    """Carries out one caller action for the end user (on `device_id`, or their phone).

    Side effects: those of the action (simulated device state; enrollment, authenticator
    and push records where the real app would update the service). Raises UnknownAction for
    a name outside design.md's vocabulary and EndUser.DoesNotExist for an unknown user."""
    if action not in ACTIONS:
        raise UnknownAction(f"Unknown caller action {action!r}; expected one of {CALLER_ACTIONS}.")
    with transaction.atomic():
        end_user = EndUser.objects.select_for_update().get(pk=end_user_id)
        device = _device_for(end_user, device_id)
        if action in DEVICE_ACTIONS:
            if device is None:
                return _fail(action, "I don't have a device for that.")
            if action not in ("approve_push", "deny_push") and _sim(device).lost:
                return _lost(action)
            if action == "deny_push":
                return deny_push(end_user, device, fraud=fraud, push_id=push_id)
            if action == "approve_push":
                return approve_push(end_user, device, push_id=push_id)
            return DEVICE_ACTIONS[action](end_user, device)
        return USER_ACTIONS[action](end_user, device)


# --- Reading the device -------------------------------------------------------------------


def device_time(device: Device, sim: SimDevice | None = None):
    """The time as the device's own clock shows it."""
    return clock.now() + timedelta(seconds=(sim or _sim(device)).effective_clock_offset)


def current_code(device: Device, authenticator: Authenticator | None = None) -> str | None:
    """The code the device shows now: its TOTP computed from its own clock and its own copy
    of the key, or (for a hardware token) the next code when the button is pressed."""
    sim = _sim(device)
    if sim.lost:
        return None
    if device.platform == "hardware_token":
        seed = otp.token_seed(sim.serial)
        code = otp.hotp_at(seed, sim.token_counter)
        sim.token_counter += 1
        sim.save(update_fields=["token_counter"])
        return code
    return peek_totp(device, authenticator)


def peek_totp(
    device: Device, authenticator: Authenticator | None = None, sim: SimDevice | None = None
) -> str | None:
    """The TOTP code on screen (no side effects), or None when the app holds no key."""
    sim = sim or _sim(device)
    if not sim.app_installed:
        return None
    secrets = OtpSecret.objects.filter(authenticator__device=device).exclude(device_secret="")
    if authenticator is not None:
        secrets = secrets.filter(authenticator=authenticator)
    secret = secrets.order_by("-authenticator__activated_at").first()
    if secret is None:
        return None
    return otp.totp_at(secret.device_secret, device_time(device, sim))


def backup_code(end_user: EndUser) -> str | None:
    """The next unused code on the end user's printed list of backup codes."""
    secret = OtpSecret.objects.filter(
        authenticator__end_user=end_user,
        authenticator__method="backup_codes",
        authenticator__status="active",
    ).first()
    if secret is None:
        return None
    for index, code in enumerate(otp.backup_codes(secret.secret)):
        if not secret.counter & (1 << index):
            return code
    return None


def inbox(end_user: EndUser, *, folder: str = Folder.INBOX, channels=("sms", "voice", "email")):
    """Messages that have reached the end user (phone messages, calls, emails)."""
    now = clock.now()
    return list(
        Delivery.objects.filter(
            end_user=end_user, channel__in=channels, folder=folder, visible_at__lte=now
        ).order_by("-visible_at", "-id")
    )


def _code_for(end_user: EndUser, attempt_id: str, channel: str) -> str | None:
    now = clock.now()
    found = (
        Delivery.objects.filter(
            end_user=end_user,
            channel=channel,
            kind=MessageKind.CODE,
            folder=Folder.INBOX,
            visible_at__lte=now,
        )
        .filter(Q(attempt__public_id=attempt_id) | Q(attempt__isnull=True))
        .order_by("-created_at", "-id")
        .first()
    )
    return found.code if found else None


def sign_in_as_end_user(
    *,
    end_user_id: int,
    application: str | None = None,
    factor: str = "auto",
    step_seconds: int = 15,
) -> SignInAttempt:
    """The end user signs in and does what they would: approves a push they can see, reads
    a code off their phone, inbox or token and types it (after their usual delay). When
    nothing shows up they wait — the simulated clock advances, nobody sleeps — until the
    service gives up. Returns the final attempt."""
    service = get_mfa_service()
    end_user = EndUser.objects.get(pk=end_user_id)
    response_delay = (
        SimUser.objects.filter(end_user=end_user)
        .values_list("response_delay_seconds", flat=True)
        .first()
        or 0
    )

    def type_code(code: str, method: str) -> SignInAttempt:
        _wait(response_delay)
        return service.sign_in(
            end_user_id=end_user_id, application=application, factor=method, passcode=code
        )

    # Codes the end user can read straight away are typed with the sign-in; with nothing to
    # type (no key on the phone, the printed list used up) they wait like everyone else.
    code = _readable_code(end_user, factor)
    if code:
        return type_code(code, factor)
    attempt = service.sign_in(end_user_id=end_user_id, application=application, factor=factor)
    for _ in range(10_000):
        delivery.run_due(end_user_id=end_user_id)
        attempt = service.attempt(attempt_id=attempt.id)
        if not attempt.is_pending:
            return attempt
        if attempt.factor == "push" and attempt.device_id:
            device = Device.objects.get(pk=attempt.device_id)
            if visible_pushes(device):
                _wait(response_delay)
                _answer("approve_push", device, approve=True)
                continue
        elif attempt.factor in ("sms", "voice", "email"):
            code = _code_for(end_user, attempt.id, attempt.factor)
            if code:
                return type_code(code, attempt.factor)
        else:
            code = _readable_code(end_user, attempt.factor)
            if code:
                return type_code(code, attempt.factor)
        _wait(step_seconds)
    return attempt


def _readable_code(end_user: EndUser, factor: str) -> str | None:
    """A code the end user can read off their own things without waiting for a message."""
    if factor == "backup_codes":
        return backup_code(end_user)
    if factor in ("totp", "hotp_token"):
        authenticator = end_user.authenticators.filter(method=factor, status="active").first()
        if authenticator is not None and authenticator.device is not None:
            return current_code(authenticator.device, authenticator)
    return None


def _wait(seconds: int) -> None:
    if seconds:
        clock.advance(timedelta(seconds=seconds))
