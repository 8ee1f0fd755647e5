"""The port: everything the helpdesk asks of an MFA service, as one typed interface.

The helpdesk side (tickets, checks, recovery services) reaches the MFA service only through
`get_mfa_service()`. The implementation is chosen by `settings.MFA_SERVICE` (a dotted path to
an `MFAService` subclass); the simulator, authsim, is the default, and a vendor adapter (Duo
Admin API, privacyIDEA) could replace it without touching the callers.

Conventions:
- Every method takes keyword-only arguments.
- Directory ids (end users, devices, authenticators) are the directory's integer primary keys.
  Identifiers the service mints itself (sign-in attempts, pushes, fraud signals) are opaque
  strings, as a vendor's transaction ids would be.
- Returned values are frozen dataclasses holding plain values; string vocabularies are the
  TextChoices of enrollment.enums (AttemptResult, AuthReason, Channel, DeliveryStatus,
  PushStatus …), returned as their plain string values.
- What the service reports is all the helpdesk learns: device-side truth (notifications off,
  a clock running late) never crosses this port except through its effects (no response,
  invalid passcode, last seen, delivery status).
- Failures: `UnknownObject` for an id the service does not know, `ServiceUnavailable` when
  the service cannot be reached, `ServiceRefused` when the service's own policy refuses the
  helpdesk's account, `NotSupported` for something the service cannot report or do; all are
  `MFAServiceError`s.
- Capabilities: a real service reports less than the simulator. `MFAService.capabilities`
  declares what it can report and do (the CAPABILITY_* names below); a check whose data the
  service cannot give answers `unknown` instead of guessing, and an action the service cannot
  perform is not offered.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from enrollment.enums import AuthenticatorStatus

DEFAULT_MFA_SERVICE = "authsim.service.AuthSimService"

# "auto" lets the service pick the policy's default method (or the best available one).
FACTOR_AUTO = "auto"


class MFAServiceError(Exception):
    """The MFA service could not do what was asked."""


class UnknownObject(MFAServiceError):
    """The service knows no end user, device, authenticator, attempt or push by that id."""


class ServiceUnavailable(MFAServiceError):
    """The service did not answer (network failure, outage)."""


class ServiceRefused(MFAServiceError):
    """The service answered but refused: its own policy does not let the helpdesk's service
    account do this (privacyIDEA's admin policies), or it rejected the request."""


class NotSupported(MFAServiceError):
    """The service cannot report or do this (see MFAService.capabilities)."""


# What a service can report or do, beyond the core every service has (sign-in, passcode
# checks, auth log, unlock, reset, notifying the end user). Plain words for the technician
# are in CAPABILITY_LABELS.
CAPABILITY_DEVICE_REPORT = "device_report"  # phone OS and app versions, last check-in, push
CAPABILITY_DELIVERY_LOG = "delivery_log"  # what became of each push, SMS, call and email
CAPABILITY_PROVIDER_STATUS = "provider_status"  # SMS, voice, email and push provider health
CAPABILITY_FRAUD_SIGNALS = "fraud_signals"  # "this wasn't me" reports
CAPABILITY_VERIFICATION_PUSH = "verification_push"  # a push asking the caller to confirm
CAPABILITY_TOKEN_RESYNC = "token_resync"  # noqa: S105 -- a name, not a secret; TOTP/HOTP resynchronisation from two codes
CAPABILITY_TOKEN_ENABLE = "token_enable"  # noqa: S105 -- a name, not a secret; disable and re-enable a token
CAPABILITY_SERVICE_BYPASS_CODES = "service_bypass_codes"  # the service mints bypass codes
CAPABILITY_DIRECTORY_SYNC = "directory_sync"  # the directory is imported from the service
CAPABILITY_ENROLLMENT_LINKS = "enrollment_links"  # enrollment and activation links by email
# The helpdesk may edit contacts and token assignments in the directory itself (a service
# that owns the directory holds them: a local edit would be undone by the next sync).
CAPABILITY_DIRECTORY_EDITS = "directory_edits"

CAPABILITY_LABELS: dict[str, str] = {
    CAPABILITY_DEVICE_REPORT: "the end user's phones (system and app versions, last check-in)",
    CAPABILITY_DELIVERY_LOG: "what happened to the messages sent to the end user",
    CAPABILITY_PROVIDER_STATUS: "the health of its text message, call, email and push providers",
    CAPABILITY_FRAUD_SIGNALS: "fraud reports by the end user",
    CAPABILITY_VERIFICATION_PUSH: "verification requests to the end user's phone",
    CAPABILITY_TOKEN_RESYNC: "resynchronising a code generator",
    CAPABILITY_TOKEN_ENABLE: "disabling and re-enabling an authenticator",
    CAPABILITY_SERVICE_BYPASS_CODES: "temporary codes minted by the service",
    CAPABILITY_DIRECTORY_SYNC: "importing its users and authenticators into the directory",
    CAPABILITY_ENROLLMENT_LINKS: "enrollment and activation links sent by email",
    CAPABILITY_DIRECTORY_EDITS: "changes to contacts and tokens made in the helpdesk",
}

# Recovery and identity services (enrollment.services, by name) that need a capability: a
# service without it is not offered them (the ticket panel hides them with the reason, a
# guided session takes the action's `blocked` branch, and the service refuses them).
ACTION_NEEDS: dict[str, str] = {
    "identity_push_send": CAPABILITY_VERIFICATION_PUSH,
    "contact_number_add": CAPABILITY_DIRECTORY_EDITS,
    "token_serial_correct": CAPABILITY_DIRECTORY_EDITS,
    "token_resync": CAPABILITY_TOKEN_RESYNC,
}

# The simulator reports everything the helpdesk can use except what only a directory-owning
# or code-minting service does.
SIMULATOR_CAPABILITIES: frozenset[str] = frozenset(
    {
        CAPABILITY_DEVICE_REPORT,
        CAPABILITY_DELIVERY_LOG,
        CAPABILITY_PROVIDER_STATUS,
        CAPABILITY_FRAUD_SIGNALS,
        CAPABILITY_VERIFICATION_PUSH,
        CAPABILITY_TOKEN_RESYNC,
        CAPABILITY_ENROLLMENT_LINKS,
        CAPABILITY_DIRECTORY_EDITS,
    }
)


def not_reported_reason(capability: str) -> str:
    """What the technician reads when a check or action needs `capability`."""
    what = CAPABILITY_LABELS.get(capability, capability.replace("_", " "))
    return f"The MFA service does not report this ({what})."


def not_offered_reason(action: str, service: MFAService) -> str | None:
    """Why `action` (an enrollment.services name) is not offered on `service`, or None."""
    needed = ACTION_NEEDS.get(action)
    if needed is None or service.supports(needed):
        return None
    what = CAPABILITY_LABELS.get(needed, needed.replace("_", " "))
    return f"Not offered: the MFA service does not support {what}."


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """One token (authenticator) as a directory-owning service reports it."""

    serial: str
    method: str  # Method value
    status: str  # AuthenticatorStatus value
    description: str
    failcount: int
    maxfail: int
    rollout_state: str  # the service's own enrollment state, verbatim ("enrolled", "clientwait" …)

    @property
    def locked(self) -> bool:
        return self.maxfail > 0 and self.failcount >= self.maxfail

    @property
    def status_display(self) -> str:
        return AuthenticatorStatus(self.status).label


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """One user of a directory-owning service, keyed by the service's own identifier."""

    service_id: str  # e.g. "alice@corp" for privacyIDEA (username@realm)
    username: str
    full_name: str
    email: str
    mobile: str
    phone: str
    tokens: tuple[ServiceToken, ...]


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """One sign-in attempt. A push attempt stays `pending` until answered or timed out."""

    id: str
    status: str  # AttemptStatus: "pending" | "final"
    result: str | None  # AttemptResult; None while pending
    reason: str | None  # AuthReason; None while pending
    factor: str  # Method value actually used (or "auto" if none was reached)
    device_id: int | None
    application: str | None
    created_at: datetime
    # The service's own words for the result, verbatim (privacyIDEA: "wrong otp value").
    detail: str = ""

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    @property
    def succeeded(self) -> bool:
        return self.status == "final" and self.result == "success"


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """A device as the service reports it (last check-in, versions, push registration)."""

    id: int
    name: str
    platform: str  # Platform
    os_version: str
    app_version: str
    last_seen_at: datetime | None
    push_capable: bool
    lost: bool


@dataclass(frozen=True, slots=True)
class AuthLogEntry:
    at: datetime
    application: str | None
    factor: str
    result: str  # AttemptResult
    reason: str  # AuthReason, or the service's message verbatim when it maps onto none
    device_id: int | None
    # The service's own words for the result, verbatim (privacyIDEA: "wrong otp value").
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What happened to one message (push, SMS, call, email) the service sent."""

    at: datetime
    channel: str  # Channel: push | sms | voice | email
    status: str  # DeliveryStatus: queued | delivered | failed | delayed | filtered | rate_limited
    detail: str


@dataclass(frozen=True, slots=True)
class SmsProviderStatus:
    configured: bool
    healthy: bool
    rate_limited: bool


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    healthy: bool


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """The delivery providers as the service's status page reports them."""

    sms: SmsProviderStatus
    email: ChannelHealth
    voice: ChannelHealth
    push: ChannelHealth


@dataclass(frozen=True, slots=True)
class FraudSignal:
    """An open fraud report, e.g. the end user answered "this wasn't me" to a push."""

    id: str
    at: datetime
    source: str  # "user_marked_fraud"
    detail: str


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A verification push the helpdesk sent to confirm a caller's identity."""

    id: str
    status: str  # PushStatus: pending | approved | denied | fraud | timed_out | failed
    device_id: int
    context: str
    created_at: datetime
    resolved_at: datetime | None = None
    detail: str = ""

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True, slots=True)
class PasscodeResult:
    ok: bool
    reason: str  # AuthReason, e.g. "valid_passcode", "invalid_passcode", "locked_out"
    authenticator_id: int | None = None  # the authenticator that matched, when ok


@dataclass(frozen=True, slots=True)
class ResyncResult:
    ok: bool
    offset_steps: int | None  # how many time steps / counter positions the token was off
    reason: str


@dataclass(frozen=True, slots=True)
class ActivationInfo:
    """What a real service returns on sending an activation: where it went and until when.
    The QR payload and manual key are shown on the device only, never returned here."""

    authenticator_id: int
    expires_at: datetime
    channel: str  # Channel the activation was sent through (email | sms)


class MFAService(abc.ABC):
    """Everything the helpdesk asks of an MFA service.

    Implementations: authsim.service.AuthSimService (the simulator, default) and
    enrollment.privacyidea.PrivacyIDEAService. Methods that change state on the service side
    are named for their effect and return None unless the service reports something back.
    """

    # What this service can report and do (CAPABILITY_* names).
    capabilities: frozenset[str] = SIMULATOR_CAPABILITIES
    # The service's name in plain words, for messages to the technician.
    label: str = "the MFA service"

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    # --- Sign-in and verification ------------------------------------------------------------

    @abc.abstractmethod
    def sign_in(
        self,
        *,
        end_user_id: int,
        application: str | None = None,
        factor: str = FACTOR_AUTO,
        passcode: str | None = None,
        device_id: int | None = None,
    ) -> SignInAttempt:
        """Starts a sign-in evaluated against the end user's effective policy. A push comes
        back `pending` until answered or timed out; poll it with `attempt()`."""

    @abc.abstractmethod
    def attempt(self, *, attempt_id: str) -> SignInAttempt:
        """The current state of a sign-in attempt (a pending push may have resolved)."""

    @abc.abstractmethod
    def send_verification_push(
        self, *, end_user_id: int, device_id: int, context: str
    ) -> PushRequest:
        """Sends a push asking the end user to confirm they are on the phone with the desk."""

    @abc.abstractmethod
    def push_status(self, *, push_id: str) -> PushRequest:
        """The current state of a verification push."""

    @abc.abstractmethod
    def verify_passcode(
        self, *, end_user_id: int, passcode: str, authenticator_id: int | None = None
    ) -> PasscodeResult:
        """Checks a passcode the caller reads out (any of their authenticators unless one
        is named)."""

    @abc.abstractmethod
    def resync_token(
        self, *, authenticator_id: int, first_code: str, second_code: str
    ) -> ResyncResult:
        """Resynchronises a TOTP/HOTP authenticator from two consecutive codes."""

    # --- What the service reports ------------------------------------------------------------

    @abc.abstractmethod
    def device_report(self, *, end_user_id: int) -> list[DeviceReport]:
        """The end user's devices as the service knows them."""

    @abc.abstractmethod
    def auth_log(self, *, end_user_id: int, limit: int = 20) -> list[AuthLogEntry]:
        """The end user's recent sign-in attempts, newest first."""

    @abc.abstractmethod
    def delivery_log(self, *, end_user_id: int, limit: int = 20) -> list[DeliveryReport]:
        """What happened to the messages recently sent to the end user, newest first."""

    @abc.abstractmethod
    def provider_status(self) -> ProviderStatus:
        """The SMS, email, voice and push providers' health."""

    @abc.abstractmethod
    def fraud_signals(self, *, end_user_id: int) -> list[FraudSignal]:
        """The end user's open fraud signals."""

    def fraud_signals_of(self, *, end_user_ids: list[int]) -> dict[int, list[FraudSignal]]:
        """Open fraud signals of several end users at once (a list screen's one question);
        services that cannot batch ask about each in turn."""
        return {pk: self.fraud_signals(end_user_id=pk) for pk in end_user_ids}

    # --- Service-side effects ----------------------------------------------------------------

    @abc.abstractmethod
    def send_enrollment_email(self, *, end_user_id: int, enroll_by: datetime) -> None:
        """Emails the end user their enrollment link, valid until `enroll_by`."""

    @abc.abstractmethod
    def send_activation(self, *, authenticator_id: int, expires_at: datetime) -> ActivationInfo:
        """Sends the activation for a pending authenticator, valid until `expires_at`."""

    @abc.abstractmethod
    def reset_authenticator(self, *, authenticator_id: int) -> None:
        """Forgets the authenticator's secret and registration so it can be set up again."""

    @abc.abstractmethod
    def unlock_user(self, *, end_user_id: int) -> None:
        """Clears the lockout and the invalid-attempt counters."""

    @abc.abstractmethod
    def notify_end_user(self, *, end_user_id: int, subject: str, body: str) -> None:
        """Emails the end user through the service's own channel (independent of the desk)."""

    def register_bypass_codes_changed(self, *, end_user_id: int) -> None:  # noqa: B027
        """Tells the service the end user's bypass codes changed. Optional: a service that
        reads bypass codes from the directory needs no notice."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The service's clock (authsim: enrollment.clock.now())."""

    # --- Optional: only services that declare the capability ------------------------------

    def disable_authenticator(self, *, authenticator_id: int) -> None:
        """Stops the authenticator from being accepted, keeping its registration
        (CAPABILITY_TOKEN_ENABLE). Services without it forget the registration instead."""
        self.reset_authenticator(authenticator_id=authenticator_id)

    def enable_authenticator(self, *, authenticator_id: int) -> None:
        """Lets a disabled authenticator be accepted again (CAPABILITY_TOKEN_ENABLE)."""
        raise NotSupported(not_reported_reason(CAPABILITY_TOKEN_ENABLE))

    def issue_bypass_code(self, *, end_user_id: int, expires_at: datetime) -> str:
        """Mints a single-use code the service itself accepts at sign-in until `expires_at`,
        returned once (CAPABILITY_SERVICE_BYPASS_CODES). Services without it accept the
        codes the helpdesk issues (enrollment.services.bypass)."""
        raise NotSupported(not_reported_reason(CAPABILITY_SERVICE_BYPASS_CODES))

    def directory_users(self) -> list[ServiceUser]:
        """Every user of the realms the helpdesk serves, with their tokens
        (CAPABILITY_DIRECTORY_SYNC)."""
        raise NotSupported(not_reported_reason(CAPABILITY_DIRECTORY_SYNC))

    def directory_user(self, *, end_user_id: int) -> ServiceUser | None:
        """One end user as the service reports them now, None when it no longer knows them
        (CAPABILITY_DIRECTORY_SYNC)."""
        raise NotSupported(not_reported_reason(CAPABILITY_DIRECTORY_SYNC))


@lru_cache(maxsize=8)
def _service_for(path: str) -> MFAService:
    service_class = import_string(path)
    if not (isinstance(service_class, type) and issubclass(service_class, MFAService)):
        raise TypeError(f"MFA_SERVICE {path!r} is not an enrollment.mfa.MFAService subclass.")
    return service_class()


def get_mfa_service() -> MFAService:
    """The configured MFA service (settings.MFA_SERVICE), imported and built once per path.

    Raises ImportError when the path cannot be imported and TypeError when it names something
    that is not an MFAService."""
    return _service_for(getattr(settings, "MFA_SERVICE", DEFAULT_MFA_SERVICE))
