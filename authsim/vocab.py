"""The simulator's vocabularies, as plain tuples so the scenario schema (pydantic) can use them
without importing Django models.

They mirror design.md and scenarios.md; extend, never rename.
"""

from typing import Literal, get_args

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
CALLER_ACTIONS = (
    "enable_notifications",
    "reconnect_network",
    "enable_automatic_time",
    "update_app",
    "reinstall_app",
    "grant_camera_permission",
    "check_spam_folder",
    "open_enrollment_link",
    "scan_qr_code",
    "enter_manual_key",
    "rename_authenticator",
    "sign_out_and_in",
    "approve_push",
    "deny_push",
)

Complaint = Literal[
    "enrollment_failure",
    "missing_prompt",
    "code_rejected",
    "code_not_received",
    "locked_out",
    "lost_device",
]
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
Outcome = Literal[
    "enrolled",
    "prompt_restored",
    "code_accepted",
    "re_enrolled",
    "bypass_issued",
    "working_as_designed",
    "escalated_tier2",
    "escalated_security",
    "abandoned",
]
RootCause = Literal[
    "enrollment_incomplete",
    "device_incompatible",
    "network_unreachable",
    "qr_scan_blocked",
    "invalid_manual_key",
    "activation_link_expired",
    "enrollment_link_expired",
    "activation_email_not_received",
    "duplicate_authenticator_name",
    "invalid_token_serial",
    "otp_channel_unavailable",
    "enrollment_not_enforced",
    "push_notifications_disabled",
    "device_offline",
    "push_token_stale",
    "app_outdated",
    "policy_misconfiguration",
    "mfa_disabled",
    "remembered_device",
    "session_still_valid",
    "clock_skew",
    "sms_provider_unconfigured",
    "sms_provider_unhealthy",
    "sms_rate_limited",
    "phone_number_invalid",
    "carrier_delay",
    "email_code_filtered",
    "code_expired",
    "user_locked_out",
    "lost_device",
    "fallback_disabled",
    "user_disabled",
    "authenticator_disabled",
    "no_authenticator",
    "access_rule_denies",
    "fraud_reported",
]
SignInFactor = Literal[
    "auto", "push", "totp", "hotp_token", "sms", "voice", "email", "webauthn", "backup_codes"
]

COMPLAINTS: tuple[str, ...] = get_args(Complaint)
USER_STATUSES: tuple[str, ...] = get_args(UserStatus)
PLATFORMS: tuple[str, ...] = get_args(Platform)
NETWORKS: tuple[str, ...] = get_args(Network)
METHODS: tuple[str, ...] = get_args(Method)
AUTHENTICATOR_STATUSES: tuple[str, ...] = get_args(AuthenticatorStatus)
STAGES: tuple[str, ...] = get_args(Stage)
ENROLLMENT_ERRORS: tuple[str, ...] = get_args(EnrollmentError)
ENFORCEMENTS: tuple[str, ...] = get_args(Enforcement)
RESULTS: tuple[str, ...] = get_args(Result)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)


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
