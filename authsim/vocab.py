"""The simulator's vocabularies, as plain tuples so the scenario schema (pydantic) can use them
without importing Django models.

They mirror design.md and scenarios.md; extend, never rename.
"""

from typing import Literal, get_args

# Shared with the troubleshooting engine; re-exported for the simulator's modules.
from enrollment.vocab import (  # noqa: F401
    CALLER_ACTIONS,
    COMPLAINTS,
    OUTCOMES,
    ROOT_CAUSES,
    CallerAction,
    Complaint,
    Outcome,
    RootCause,
)

# Duo-style reasons the simulated service writes to its auth log.
REASONS = (
    "user_approved",
    "valid_passcode",
    "remembered_device",
    "bypass_user",
    "allowed_by_policy",
    "valid_session",
    "no_response",
    "user_denied",
    "invalid_passcode",
    "locked_out",
    "user_disabled",
    "denied_by_policy",
    "factor_restricted",
    "deny_unenrolled_user",
    "no_activated_app",
    "out_of_date",
    "platform_restricted",
    "delivery_failed",
    "user_marked_fraud",
    "unknown_user",
)

UserStatus = Literal["active", "pending_enrollment", "bypass", "locked_out", "disabled"]
Platform = Literal["ios", "android", "landline", "hardware_token", "security_key", "desktop"]
Network = Literal["wifi", "cellular", "none"]
Method = Literal["push", "totp", "hotp_token", "sms", "voice", "email", "webauthn", "backup_codes"]
AuthenticatorStatus = Literal["pending_activation", "active", "disabled", "revoked"]
Stage = Literal["invited", "link_opened", "app_installed", "code_scanned", "activated", "verified"]
EnrollmentError = Literal[
    "link_expired",
    "activation_expired",
    "duplicate_name",
    "invalid_key",
    "invalid_serial",
    "device_incompatible",
]
Enforcement = Literal["every_login", "new_devices_only"]
Result = Literal["success", "denied", "fraud", "error"]
SignInFactor = Literal[
    "auto", "push", "totp", "hotp_token", "sms", "voice", "email", "webauthn", "backup_codes"
]

USER_STATUSES: tuple[str, ...] = get_args(UserStatus)
PLATFORMS: tuple[str, ...] = get_args(Platform)
NETWORKS: tuple[str, ...] = get_args(Network)
METHODS: tuple[str, ...] = get_args(Method)
AUTHENTICATOR_STATUSES: tuple[str, ...] = get_args(AuthenticatorStatus)
STAGES: tuple[str, ...] = get_args(Stage)
ENROLLMENT_ERRORS: tuple[str, ...] = get_args(EnrollmentError)
ENFORCEMENTS: tuple[str, ...] = get_args(Enforcement)
RESULTS: tuple[str, ...] = get_args(Result)


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "17.4" -> (17, 4); non-numeric parts count as 0 so a odd build tag never crashes."""
    parts = []
    for piece in (version or "").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def version_below(version: str | None, minimum: str | None) -> bool:
    if not minimum or not version:
        return False
    return version_tuple(version) < version_tuple(minimum)


# Platforms that run the authenticator app (push and app-generated codes).
APP_PLATFORMS: tuple[str, ...] = ("ios", "android")
