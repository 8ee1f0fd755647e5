"""AuthSimService: the simulated MFA service behind enrollment.mfa's port.

It reports only what a real service would know — devices as last heard from, the auth log
with Duo-style results and reasons, delivery results from its providers, open fraud reports,
provider health — never the simulated device's internals (authsim.models.SimDevice).
Time is always `enrollment.clock.now()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
from django.db import transaction

from authsim import delivery, otp, signin
from authsim.models import (
    Attempt,
    AttemptStatus,
    Delivery,
    FraudReport,
    MessageKind,
    OtpSecret,
    ProviderState,
    Push,
    PushStatus,
    SimUser,
)
from enrollment import clock, mfa
from enrollment.models import Authenticator, Device, EndUser
from enrollment.policy import effective_policy

ACTIVATION_BASE_URL = "https://mfa.example.com/activate/"
ENROLLMENT_BASE_URL = "https://mfa.example.com/enroll/"


def _attempt(row: Attempt) -> mfa.SignInAttempt:
    return mfa.SignInAttempt(
        id=row.public_id,
        status=row.status,
        result=row.result or None,
        reason=row.reason or None,
        factor=row.factor,
        device_id=row.device_id,
        application=row.application or None,
        created_at=row.created_at,
    )


def _push(row: Push) -> mfa.PushRequest:
    return mfa.PushRequest(
        id=row.public_id,
        status=row.status,
        device_id=row.device_id,
        context=row.context,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        detail=row.detail,
    )


def _user(end_user_id: int) -> EndUser:
    user = EndUser.objects.filter(pk=end_user_id).first()
    if user is None:
        raise mfa.UnknownObject(f"No end user {end_user_id}.")
    return user


class AuthSimService(mfa.MFAService):
    """The simulator. Stateless: every call reads and writes the database."""

    # --- Sign-in and verification --------------------------------------------------------

    def sign_in(
        self,
        *,
        end_user_id: int,
        application: str | None = None,
        factor: str = mfa.FACTOR_AUTO,
        passcode: str | None = None,
        device_id: int | None = None,
    ) -> mfa.SignInAttempt:
        """See authsim.signin for the evaluation order. Side effects: an auth-log entry,
        pushes and code deliveries enqueued after commit, lockout counters."""
        row = signin.sign_in(
            end_user_id=end_user_id,
            application=application,
            factor=factor,
            passcode=passcode,
            device_id=device_id,
        )
        return _attempt(row)

    def attempt(self, *, attempt_id: str) -> mfa.SignInAttempt:
        """Side effects: ends the attempt with no_response if its time ran out."""
        row = Attempt.objects.filter(public_id=attempt_id).first()
        if row is None:
            raise mfa.UnknownObject(f"No sign-in attempt {attempt_id}.")
        if row.status == AttemptStatus.PENDING and row.expires_at and row.expires_at <= clock.now():
            signin.expire_pending(end_user_id=row.end_user_id)
            row.refresh_from_db()
        return _attempt(row)

    def send_verification_push(
        self, *, end_user_id: int, device_id: int, context: str
    ) -> mfa.PushRequest:
        """Side effects: a Push (pending until the push timeout of the user's policy) and its
        delivery enqueued after commit. Raises UnknownObject for a device not the user's."""
        with transaction.atomic():
            user = _user(end_user_id)
            device = Device.objects.filter(pk=device_id, end_user=user).first()
            if device is None:
                raise mfa.UnknownObject(f"No device {device_id} for end user {end_user_id}.")
            now = clock.now()
            timeout = effective_policy(user, None).push_timeout_seconds.value or 60
            push = Push.objects.create(
                end_user=user,
                device=device,
                context=context,
                created_at=now,
                expires_at=now + timedelta(seconds=timeout),
            )
            if not device.push_capable:
                push.status = PushStatus.FAILED
                push.detail = "The device has no push registration."
                push.resolved_at = now
                push.save(update_fields=["status", "detail", "resolved_at"])
            else:
                delivery.queue_push(push)
        return _push(push)

    def push_status(self, *, push_id: str) -> mfa.PushRequest:
        row = Push.objects.filter(public_id=push_id).first()
        if row is None:
            raise mfa.UnknownObject(f"No push {push_id}.")
        if row.status == PushStatus.PENDING and row.expires_at <= clock.now():
            signin.expire_pending(end_user_id=row.end_user_id)
            row.refresh_from_db()
        return _push(row)

    def verify_passcode(
        self, *, end_user_id: int, passcode: str, authenticator_id: int | None = None
    ) -> mfa.PasscodeResult:
        """Checks a code the caller reads out. It is identity verification, not a sign-in:
        no auth-log entry and no lockout counting, but a code is used up when it matches."""
        with transaction.atomic():
            user = _user(end_user_id)
            candidates = user.authenticators.filter(
                status="active", method__in=signin.PASSCODE_METHODS
            )
            if authenticator_id is not None:
                candidates = candidates.filter(pk=authenticator_id)
            matched = signin.match_passcode(user, list(candidates), passcode, clock.now())
        if matched is None:
            return mfa.PasscodeResult(ok=False, reason="invalid_passcode")
        return mfa.PasscodeResult(ok=True, reason="valid_passcode", authenticator_id=matched.pk)

    def resync_token(
        self, *, authenticator_id: int, first_code: str, second_code: str
    ) -> mfa.ResyncResult:
        """Side effects: the HOTP counter moves past the two codes, or the TOTP drift the
        service allows for this authenticator is set to the offset found."""
        with transaction.atomic():
            authenticator = Authenticator.objects.filter(pk=authenticator_id).first()
            if authenticator is None:
                raise mfa.UnknownObject(f"No authenticator {authenticator_id}.")
            if authenticator.method not in ("totp", "hotp_token"):
                return mfa.ResyncResult(ok=False, offset_steps=None, reason="not_a_token")
            secret, _ = OtpSecret.objects.select_for_update().get_or_create(
                authenticator=authenticator
            )
            if authenticator.method == "hotp_token":
                found = otp.hotp_resync(
                    otp.token_seed(authenticator.serial or ""),
                    first_code,
                    second_code,
                    secret.counter,
                )
                if not found.ok:
                    return mfa.ResyncResult(ok=False, offset_steps=None, reason=found.reason)
                offset = found.value - 2 - secret.counter
                secret.counter = found.value
                secret.save(update_fields=["counter"])
                return mfa.ResyncResult(ok=True, offset_steps=offset, reason=found.reason)
            found = otp.totp_resync(secret.secret, first_code, second_code, clock.now())
            if not found.ok:
                return mfa.ResyncResult(ok=False, offset_steps=None, reason=found.reason)
            secret.drift_steps = found.value
            secret.save(update_fields=["drift_steps"])
            return mfa.ResyncResult(ok=True, offset_steps=found.value, reason=found.reason)

    # --- What the service reports --------------------------------------------------------

    def device_report(self, *, end_user_id: int) -> list[mfa.DeviceReport]:
        """One query. Only what the service heard from each device."""
        rows = Device.objects.filter(end_user_id=end_user_id).order_by("name", "id")
        return [
            mfa.DeviceReport(
                id=row.pk,
                name=row.name,
                platform=row.platform,
                os_version=row.os_version,
                app_version=row.app_version,
                last_seen_at=row.last_seen_at,
                push_capable=row.push_capable,
                lost=row.lost_at is not None,
            )
            for row in rows
        ]

    def auth_log(self, *, end_user_id: int, limit: int = 20) -> list[mfa.AuthLogEntry]:
        """One query, no writes: a pending attempt past its timeout reads as no_response."""
        now = clock.now()
        rows = (
            Attempt.objects.filter(end_user_id=end_user_id)
            .exclude(status=AttemptStatus.PENDING, expires_at__gt=now)
            .exclude(status=AttemptStatus.PENDING, expires_at__isnull=True)
            .order_by("-created_at", "-id")[:limit]
        )
        entries = []
        for row in rows:
            timed_out = row.status == AttemptStatus.PENDING
            entries.append(
                mfa.AuthLogEntry(
                    at=row.created_at,
                    application=row.application or None,
                    factor=row.factor,
                    result="denied" if timed_out else row.result,
                    reason="no_response" if timed_out else row.reason,
                    device_id=row.device_id,
                )
            )
        return entries

    def delivery_log(self, *, end_user_id: int, limit: int = 20) -> list[mfa.DeliveryReport]:
        """One query: the provider's view (status and detail), not the recipient's."""
        rows = Delivery.objects.filter(end_user_id=end_user_id).order_by("-created_at", "-id")[
            :limit
        ]
        return [
            mfa.DeliveryReport(
                at=row.created_at, channel=row.channel, status=row.status, detail=row.detail
            )
            for row in rows
        ]

    def provider_status(self) -> mfa.ProviderStatus:
        state = ProviderState.current()
        return mfa.ProviderStatus(
            sms=mfa.SmsProviderStatus(
                configured=state.sms_configured,
                healthy=state.sms_healthy,
                rate_limited=state.sms_rate_limited,
            ),
            email=mfa.ChannelHealth(healthy=state.email_healthy),
            voice=mfa.ChannelHealth(healthy=state.voice_healthy),
            push=mfa.ChannelHealth(healthy=state.push_healthy),
        )

    def fraud_signals(self, *, end_user_id: int) -> list[mfa.FraudSignal]:
        rows = FraudReport.objects.filter(end_user_id=end_user_id, resolved_at__isnull=True)
        return [
            mfa.FraudSignal(
                id=row.public_id, at=row.created_at, source="user_marked_fraud", detail=row.detail
            )
            for row in rows
        ]

    def fraud_signals_of(self, *, end_user_ids: list[int]) -> dict[int, list[mfa.FraudSignal]]:
        signals: dict[int, list[mfa.FraudSignal]] = {pk: [] for pk in end_user_ids}
        for row in FraudReport.objects.filter(
            end_user_id__in=end_user_ids, resolved_at__isnull=True
        ):
            signals[row.end_user_id].append(
                mfa.FraudSignal(
                    id=row.public_id,
                    at=row.created_at,
                    source="user_marked_fraud",
                    detail=row.detail,
                )
            )
        return signals

    # --- Service-side effects ------------------------------------------------------------

    def send_enrollment_email(self, *, end_user_id: int, enroll_by: datetime) -> None:
        """Side effects: an enrollment email queued (delivered by a task after commit)."""
        with transaction.atomic():
            user = _user(end_user_id)
            delivery.queue_message(
                end_user=user,
                channel="email",
                kind=MessageKind.ENROLLMENT,
                subject="Set up multi-factor authentication",
                body=(
                    f"Open {ENROLLMENT_BASE_URL}{user.username} to set up your authenticator "
                    f"before {enroll_by:%Y-%m-%d %H:%M} UTC."
                ),
            )

    def send_activation(self, *, authenticator_id: int, expires_at: datetime) -> mfa.ActivationInfo:
        """Side effects: a fresh secret for the authenticator (the device's copy is
        forgotten until it scans or types the new one) and an activation email queued."""
        with transaction.atomic():
            authenticator = (
                Authenticator.objects.select_related("end_user").filter(pk=authenticator_id).first()
            )
            if authenticator is None:
                raise mfa.UnknownObject(f"No authenticator {authenticator_id}.")
            provision_secret(authenticator)
            delivery.queue_message(
                end_user=authenticator.end_user,
                channel="email",
                kind=MessageKind.ACTIVATION,
                subject="Activate your authenticator",
                body=(
                    f"Open {ACTIVATION_BASE_URL}{authenticator.pk} on the device to activate "
                    f"{authenticator.name or authenticator.get_method_display()}. The link "
                    f"expires at {expires_at:%Y-%m-%d %H:%M} UTC."
                ),
                authenticator_id=authenticator.pk,
            )
        return mfa.ActivationInfo(
            authenticator_id=authenticator_id, expires_at=expires_at, channel="email"
        )

    def reset_authenticator(self, *, authenticator_id: int) -> None:
        """Side effects: forgets the secret and (for push) the device's push registration;
        pending pushes to it fail."""
        with transaction.atomic():
            authenticator = Authenticator.objects.filter(pk=authenticator_id).first()
            if authenticator is None:
                raise mfa.UnknownObject(f"No authenticator {authenticator_id}.")
            OtpSecret.objects.filter(authenticator=authenticator).delete()
            if authenticator.method == "push" and authenticator.device_id:
                Device.objects.filter(pk=authenticator.device_id).update(push_capable=False)
                Push.objects.filter(
                    device_id=authenticator.device_id, status=PushStatus.PENDING
                ).update(
                    status=PushStatus.FAILED, detail="Authenticator reset.", resolved_at=clock.now()
                )

    def unlock_user(self, *, end_user_id: int) -> None:
        """Side effects: status back to active (pending_enrollment when nothing is active),
        invalid-attempt counters and authenticator failure counts to zero."""
        with transaction.atomic():
            user = EndUser.objects.select_for_update().filter(pk=end_user_id).first()
            if user is None:
                raise mfa.UnknownObject(f"No end user {end_user_id}.")
            SimUser.objects.filter(end_user=user).update(invalid_attempts=0)
            user.authenticators.update(failure_count=0)
            if user.status == "locked_out":
                enrolled = user.authenticators.filter(status="active").exists()
                user.status = "active" if enrolled else "pending_enrollment"
                user.save(update_fields=["status", "updated_at"])

    def notify_end_user(self, *, end_user_id: int, subject: str, body: str) -> None:
        with transaction.atomic():
            delivery.queue_message(
                end_user=_user(end_user_id),
                channel="email",
                kind=MessageKind.NOTICE,
                subject=subject,
                body=body,
            )

    def now(self) -> datetime:
        return clock.now()

    # --- Beyond the port: what the security team does in the service's own console -------

    def resolve_fraud_signal(self, *, signal_id: str) -> None:
        """Closes a fraud report after review. Side effects: resolved_at set."""
        updated = FraudReport.objects.filter(public_id=signal_id, resolved_at__isnull=True).update(
            resolved_at=clock.now()
        )
        if not updated and not FraudReport.objects.filter(public_id=signal_id).exists():
            raise mfa.UnknownObject(f"No fraud signal {signal_id}.")


def provision_secret(authenticator: Authenticator) -> OtpSecret | None:
    """A new secret for an app-based authenticator (push carries TOTP too). Hardware tokens
    keep their seed, which comes with the token."""
    if authenticator.method not in ("push", "totp"):
        return None
    secret, _ = OtpSecret.objects.update_or_create(
        authenticator=authenticator,
        defaults={"secret": otp.new_secret(), "device_secret": "", "drift_steps": 0},
    )
    return secret


def activation_payload(authenticator: Authenticator, secret: OtpSecret) -> str:
    """The otpauth:// URI the QR code carries, shown on the device simulator only."""
    label = authenticator.end_user.username
    return pyotp.TOTP(secret.secret).provisioning_uri(name=label, issuer_name="MFA Helpdesk Sim")
