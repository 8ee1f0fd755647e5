"""The vocabularies playbooks are written in, exactly as design.md lists them (extend, never
rename).

The directory's own vocabularies (user status, enrollment stage, methods …) live in
enrollment.enums; the ones only sessions and playbooks use — outcomes, root causes, caller
actions, complaint categories — live here as Literal types so the pydantic schema can reject
a misspelt value with the list of accepted ones. tests/troubleshooting/test_vocab.py keeps
them equal to the simulator's copy (authsim.vocab), which troubleshooting must not import.
"""

from typing import Literal, get_args

Complaint = Literal[
    "enrollment_failure",
    "missing_prompt",
    "code_rejected",
    "code_not_received",
    "locked_out",
    "lost_device",
]

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
    # enrollment
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
    # prompt
    "push_notifications_disabled",
    "device_offline",
    "push_token_stale",
    "app_outdated",
    "policy_misconfiguration",
    "mfa_disabled",
    "remembered_device",
    "session_still_valid",
    # codes
    "clock_skew",
    "sms_provider_unconfigured",
    "sms_provider_unhealthy",
    "sms_rate_limited",
    "phone_number_invalid",
    "carrier_delay",
    "email_code_filtered",
    "code_expired",
    # access
    "user_locked_out",
    "lost_device",
    "fallback_disabled",
    "user_disabled",
    "authenticator_disabled",
    "no_authenticator",
    "access_rule_denies",
    "fraud_reported",
]

CallerAction = Literal[
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
]

# The factor a verify node asks the service for; "auto" lets the policy pick.
SignInFactor = Literal[
    "auto", "push", "totp", "hotp_token", "sms", "voice", "email", "webauthn", "backup_codes"
]

COMPLAINTS: tuple[str, ...] = get_args(Complaint)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)
CALLER_ACTIONS: tuple[str, ...] = get_args(CallerAction)
SIGN_IN_FACTORS: tuple[str, ...] = get_args(SignInFactor)

# Outcomes that say the caller has access again: a session may only end in one of these after
# a verify node saw a successful sign-in (the linter proves it on every path).
RESOLVED_OUTCOMES: frozenset[str] = frozenset(
    {"enrolled", "prompt_restored", "code_accepted", "re_enrolled", "bypass_issued"}
)
# Outcomes that hand the case to another queue: the end node names the queue and the next step.
ESCALATION_OUTCOMES: frozenset[str] = frozenset({"escalated_tier2", "escalated_security"})

# Every check outcome map carries these two besides the check's own outcomes: a check that
# raised, or a service that did not answer, must still lead somewhere.
CHECK_ERROR = "error"
CHECK_TIMEOUT = "timeout"
RESERVED_OUTCOMES: tuple[str, ...] = (CHECK_ERROR, CHECK_TIMEOUT)

# What a verify node branches on: the sign-in attempt's result, or timeout when a push was
# left unanswered past the policy's timeout.
VERIFY_OUTCOMES: tuple[str, ...] = ("success", "denied", "fraud", "error", "timeout")
