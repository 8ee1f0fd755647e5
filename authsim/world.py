"""Builds the world a scenario file describes (see authsim.scenarios for the format).

`load_scenario(scenario)` first puts the simulator's shared state back to its defaults — the
delivery providers, the global policy, the clock — and replaces the scenario's end user (and
the policies of the application and groups it names), then applies the file. Loading the same
file twice in one database therefore gives the same world.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import ProtectedError

from authsim import otp
from authsim.models import (
    Delivery,
    DeliveryStatus,
    Folder,
    FraudReport,
    MessageKind,
    OtpSecret,
    ProviderState,
    SimDevice,
    SimUser,
)
from authsim.scenarios import DeviceSpec, PolicySpec, Scenario
from authsim.service import ENROLLMENT_BASE_URL
from authsim.vocab import APP_PLATFORMS
from enrollment import clock
from enrollment.models import (
    ActivationLink,
    Application,
    Authenticator,
    Device,
    EndUser,
    Enrollment,
    EnrollmentLink,
    Group,
    Policy,
)
from enrollment.policy import effective_policy

PLATFORM_MODEL = {
    "ios": "iPhone",
    "android": "Android phone",
    "landline": "Desk phone",
    "hardware_token": "Hardware token",
    "security_key": "Security key",
    "desktop": "Desktop",
}
# A still-valid session lasts this long after loading.
SESSION_HOURS = 8


def reset_shared_state() -> None:
    """Providers to their defaults, no global policy, the clock back to real time."""
    ProviderState.objects.update_or_create(
        pk=1,
        defaults={
            "sms_configured": True,
            "sms_healthy": True,
            "sms_rate_limited": False,
            "sms_carrier_delay_seconds": 0,
            "email_healthy": True,
            "email_sender_filtered": False,
            "voice_healthy": True,
            "push_healthy": True,
        },
    )
    Policy.objects.filter(scope="global").delete()
    clock.reset()


@transaction.atomic
def load_scenario(scenario: Scenario) -> EndUser:
    """Builds `scenario`'s world and returns its end user.

    Side effects: resets the shared state (providers, global policy, clock); deletes and
    recreates the end user with devices, authenticators, enrollment, links, messages and the
    simulator's device-side state; creates missing groups and the application; replaces the
    policies of the global scope, the application and the groups the file names."""
    reset_shared_state()
    if scenario.application:
        app, _ = Application.objects.get_or_create(name=scenario.application)
        Policy.objects.filter(application=app).delete()
    groups = [_group(name) for name in scenario.user.groups]
    Policy.objects.filter(group__in=groups).delete()
    for spec in scenario.policies:
        _policy(spec)
    _providers(scenario)
    return build_end_user(scenario)


def free_username(username: str) -> None:
    """Makes room for a fresh end user called `username` (scenarios.md, "Repeat runs").

    An earlier end user of that name is deleted with their devices and authenticators,
    unless the trail refers to them (their tickets or audit events, which are never
    deleted): then they step aside under another name, `<username>.run-<id>`, keeping all
    of it, and the hardware tokens they held are revoked, since a serial belongs to one
    live authenticator and the new world's tokens are those same tokens."""
    for user in EndUser.objects.filter(username=username):
        try:
            with transaction.atomic():
                user.delete()
        except ProtectedError:
            user.username = f"{username}.run-{user.pk}"
            user.save(update_fields=["username", "updated_at"])
            user.authenticators.filter(serial__isnull=False).exclude(status="revoked").update(
                status="revoked"
            )


def build_end_user(scenario: Scenario) -> EndUser:
    """Creates (or replaces) the scenario's end user and everything around them, leaving
    shared state — providers, policies, the clock — as it is. The demo world uses this to
    add many users under one set of policies. An earlier end user of that name steps aside
    first (`free_username`), so this never fails because they have tickets."""
    now = clock.now()
    free_username(scenario.user.username)
    groups = [_group(name) for name in scenario.user.groups]
    spec = scenario.user
    user = EndUser.objects.create(
        username=spec.username,
        full_name=spec.full_name,
        email=spec.email or "",
        mobile=spec.mobile or "",
        phone=spec.phone or "",
        status=spec.status,
        privileged=spec.privileged,
        created_at=now - timedelta(days=90),
    )
    user.groups.set(groups)

    devices = {d.key: _device(user, d, scenario, now) for d in scenario.devices}
    authenticators = [
        _authenticator(user, a, devices, scenario, now) for a in scenario.resolved_authenticators()
    ]
    _enrollment(user, scenario, authenticators, now)

    remembered = [d for d in scenario.devices if d.remembered]
    if remembered:
        days = effective_policy(user, scenario.application).remembered_device_days.value or 30
        SimDevice.objects.filter(device__in=[devices[d.key] for d in remembered]).update(
            remembered_until=now + timedelta(days=days)
        )

    failures = max((a.failure_count for a in scenario.resolved_authenticators()), default=0)
    SimUser.objects.create(
        end_user=user,
        invalid_attempts=failures,
        session_valid_until=now + timedelta(hours=SESSION_HOURS)
        if scenario.user.session_valid
        else None,
        response_delay_seconds=scenario.user.response_delay_seconds,
        own_mobile=scenario.user.own_mobile or "",
    )
    if scenario.user.fraud_reported:
        FraudReport.objects.create(
            end_user=user,
            detail='The user answered "this wasn\'t me" to a sign-in request.',
            created_at=now - timedelta(hours=1),
        )
    return user


def _group(name: str) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    return group


def _policy(spec: PolicySpec) -> Policy:
    settings = spec.settings()
    kind, target = spec.kind, spec.target
    policy = Policy(scope=kind)
    if kind == "group":
        policy.priority = spec.priority
    if kind == "application":
        policy.application, _ = Application.objects.get_or_create(name=target)
        Policy.objects.filter(application=policy.application).delete()
    elif kind == "group":
        policy.group = _group(target)
        Policy.objects.filter(group=policy.group).delete()
    for name, value in settings.items():
        if name in ("exempt_groups", "permitted_groups"):
            setattr(policy, f"sets_{name}", True)
        elif name == "max_invalid_attempts" and value is None:
            policy.max_invalid_attempts_unlimited = True
        elif name == "min_app_version" and value is None:
            policy.min_app_version = ""
        elif name == "allowed_methods":
            policy.allowed_methods = list(value)
        elif name == "min_os_versions":
            policy.min_os_versions = dict(value)
        else:
            setattr(policy, name, value)
    policy.save()
    for name in ("exempt_groups", "permitted_groups"):
        if name in settings:
            getattr(policy, name).set([_group(n) for n in settings[name]])
    return policy


def _providers(scenario: Scenario) -> None:
    sms, email, voice = scenario.providers.sms, scenario.providers.email, scenario.providers.voice
    ProviderState.objects.filter(pk=1).update(
        sms_configured=sms.configured,
        sms_healthy=sms.healthy,
        sms_rate_limited=sms.rate_limited,
        sms_carrier_delay_seconds=sms.carrier_delay_seconds,
        email_healthy=email.healthy,
        email_sender_filtered=email.sender_filtered,
        voice_healthy=voice.healthy,
    )


def _device_name(user: EndUser, spec: DeviceSpec, scenario: Scenario) -> str:
    for auth in scenario.resolved_authenticators():
        if auth.device == spec.key and auth.name:
            return auth.name
    first = (user.full_name or user.username).split()[0]
    return f"{first}'s {PLATFORM_MODEL[spec.platform]}"


def _device(user: EndUser, spec: DeviceSpec, scenario: Scenario, now) -> Device:
    app = spec.platform in APP_PLATFORMS and spec.app_installed
    pushes = any(
        a.device == spec.key and a.method == "push" and a.status == "active"
        for a in scenario.resolved_authenticators()
    )
    # A reachable device checked in minutes ago; an unreachable one days ago.
    reachable = spec.online and spec.network != "none"
    last_seen = now - (timedelta(minutes=7) if reachable else timedelta(days=2))
    device = Device.objects.create(
        end_user=user,
        name=_device_name(user, spec, scenario),
        platform=spec.platform,
        os_version=spec.os_version,
        app_version=(spec.app_version or "") if app else "",
        last_seen_at=last_seen if app else None,
        push_capable=app and pushes,
        created_at=now - timedelta(days=60),
    )
    serial = spec.serial or next(
        (a.serial for a in scenario.resolved_authenticators() if a.device == spec.key and a.serial),
        "",
    )
    SimDevice.objects.create(
        device=device,
        app_installed=spec.app_installed,
        app_version=spec.app_version or "",
        online=spec.online,
        network=spec.network,
        notifications_enabled=spec.notifications_enabled,
        camera_permission=spec.camera_permission,
        clock_offset_seconds=spec.clock_offset_seconds,
        automatic_time=spec.automatic_time,
        push_token_valid=spec.push_token_valid,
        lost=spec.lost,
        serial=serial or "",
    )
    return device


def _authenticator(user, spec, devices, scenario: Scenario, now) -> Authenticator:
    device = devices.get(spec.device) if spec.device else None
    authenticator = Authenticator.objects.create(
        end_user=user,
        device=device,
        method=spec.method,
        status=spec.status,
        name=spec.name,
        serial=spec.serial,
        failure_count=spec.failure_count,
        remaining_codes=spec.remaining_codes if spec.method == "backup_codes" else None,
        created_at=now - timedelta(days=30),
        activated_at=now - timedelta(days=29) if spec.status in ("active", "disabled") else None,
    )
    if spec.method in ("push", "totp"):
        secret = otp.new_secret()
        if spec.status == "pending_activation":
            # Not yet scanned; a mistyped manual key gives the device a key never issued.
            device_secret = otp.new_secret() if scenario.enrollment.error == "invalid_key" else ""
        else:
            device_secret = secret
        OtpSecret.objects.create(
            authenticator=authenticator, secret=secret, device_secret=device_secret
        )
    elif spec.method == "hotp_token":
        OtpSecret.objects.create(authenticator=authenticator, secret="", counter=0)
    elif spec.method == "backup_codes":
        # The first codes of the printed list are the ones already used.
        left = otp.BACKUP_CODE_COUNT if spec.remaining_codes is None else spec.remaining_codes
        used = otp.BACKUP_CODE_COUNT - min(left, otp.BACKUP_CODE_COUNT)
        OtpSecret.objects.create(
            authenticator=authenticator, secret=otp.new_secret(), counter=(1 << used) - 1
        )
        authenticator.remaining_codes = otp.BACKUP_CODE_COUNT - used
        authenticator.save(update_fields=["remaining_codes"])
    if spec.status == "pending_activation":
        hours = scenario.enrollment.activation_expires_in_hours
        expires = now + timedelta(hours=hours)
        ActivationLink.objects.create(
            authenticator=authenticator,
            created_at=expires - timedelta(hours=max(24, hours + 1)),
            expires_at=expires,
        )
    return authenticator


def _enrollment(user: EndUser, scenario: Scenario, authenticators, now) -> None:
    spec = scenario.enrollment
    target = next((a for a in authenticators if a.status == "pending_activation"), None) or next(
        iter(authenticators), None
    )
    done = spec.stage in ("activated", "verified")
    started = now - timedelta(days=35)
    Enrollment.objects.create(
        end_user=user,
        authenticator=target,
        stage=spec.stage,
        error=spec.error,
        started_at=started,
        completed_at=started + timedelta(hours=1) if done else None,
    )
    if done and user.status != "pending_enrollment":
        return
    enroll_by = now + timedelta(hours=spec.link_expires_in_hours)
    # Sent an hour ago, or (for a link already expired) 30 days before its enroll-by date.
    created = min(now - timedelta(hours=1), enroll_by - timedelta(days=30))
    EnrollmentLink.objects.create(
        end_user=user,
        created_at=created,
        enroll_by=enroll_by,
        sent_count=1,
        last_sent_at=created,
    )
    # The invitation already went out: it sits in the mailbox (or its spam folder).
    if user.email:
        providers = ProviderState.current()
        filtered = providers.email_sender_filtered
        Delivery.objects.create(
            end_user=user,
            channel="email",
            kind=MessageKind.ENROLLMENT,
            recipient=user.email,
            subject="Set up multi-factor authentication",
            body=(
                f"Open {ENROLLMENT_BASE_URL}{user.username} to set up your authenticator "
                f"before {enroll_by:%Y-%m-%d %H:%M} UTC."
            ),
            status=DeliveryStatus.FILTERED if filtered else DeliveryStatus.DELIVERED,
            detail="Accepted by the recipient's mail server"
            + (" and filed as spam." if filtered else "."),
            created_at=created,
            visible_at=created,
            folder=Folder.SPAM if filtered else Folder.INBOX,
        )
