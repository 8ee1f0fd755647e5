"""An MFAService that records the service-side effects it is asked for, to test that the
directory's services call the port with the right arguments once their transaction commits.

Reads are not needed by these tests and say so."""

from datetime import datetime

from enrollment import clock
from enrollment.mfa import ActivationInfo, MFAService


class RecordingMFAService(MFAService):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def _unused(self, *args, **kwargs):
        raise NotImplementedError("not used by the directory's tests")

    sign_in = attempt = send_verification_push = push_status = _unused
    verify_passcode = resync_token = device_report = auth_log = delivery_log = _unused
    provider_status = fraud_signals = reset_authenticator = unlock_user = _unused
    notify_end_user = _unused

    def send_enrollment_email(self, *, end_user_id: int, enroll_by: datetime) -> None:
        self.calls.append(
            ("send_enrollment_email", {"end_user_id": end_user_id, "enroll_by": enroll_by})
        )

    def send_activation(self, *, authenticator_id: int, expires_at: datetime) -> ActivationInfo:
        self.calls.append(
            ("send_activation", {"authenticator_id": authenticator_id, "expires_at": expires_at})
        )
        return ActivationInfo(
            authenticator_id=authenticator_id, expires_at=expires_at, channel="email"
        )

    def now(self) -> datetime:
        return clock.now()


class NotAService:
    pass
