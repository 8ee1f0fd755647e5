"""An MFAService that reports what a test tells it to, the way a vendor's admin API would.

It stands in for the service at the port (enrollment.mfa) only, so the port checks can be
tested before and apart from the simulator; tests against authsim's own service live beside
them. Effects are not needed by the checks and say so."""

from datetime import datetime

from enrollment import clock
from enrollment.mfa import (
    AuthLogEntry,
    ChannelHealth,
    DeliveryReport,
    FraudSignal,
    MFAService,
    ProviderStatus,
    ServiceUnavailable,
    SmsProviderStatus,
)


class ReportingMFAService(MFAService):
    def __init__(
        self,
        *,
        auth_log: list[AuthLogEntry] | None = None,
        deliveries: list[DeliveryReport] | None = None,
        fraud: list[FraudSignal] | None = None,
        sms: SmsProviderStatus | None = None,
        email_healthy: bool = True,
        unavailable: bool = False,
    ) -> None:
        self._auth_log = auth_log or []
        self._deliveries = deliveries or []
        self._fraud = fraud or []
        self._sms = sms or SmsProviderStatus(configured=True, healthy=True, rate_limited=False)
        self._email_healthy = email_healthy
        self._unavailable = unavailable

    def _answer(self, value):
        if self._unavailable:
            raise ServiceUnavailable("connection refused")
        return value

    def _unused(self, *args, **kwargs):
        raise NotImplementedError("not used by the checks")

    sign_in = attempt = send_verification_push = push_status = _unused
    verify_passcode = resync_token = device_report = _unused
    send_enrollment_email = send_activation = reset_authenticator = unlock_user = _unused
    notify_end_user = _unused

    def auth_log(self, *, end_user_id: int, limit: int = 20) -> list[AuthLogEntry]:
        return self._answer(self._auth_log[:limit])

    def delivery_log(self, *, end_user_id: int, limit: int = 20) -> list[DeliveryReport]:
        return self._answer(self._deliveries[:limit])

    def fraud_signals(self, *, end_user_id: int) -> list[FraudSignal]:
        return self._answer(self._fraud)

    def provider_status(self) -> ProviderStatus:
        return self._answer(
            ProviderStatus(
                sms=self._sms,
                email=ChannelHealth(healthy=self._email_healthy),
                voice=ChannelHealth(healthy=True),
                push=ChannelHealth(healthy=True),
            )
        )

    def now(self) -> datetime:
        return clock.now()
