"""The case vocabularies of design.md shared by the simulator and the troubleshooting engine:
complaints, outcomes, root causes and the caller actions (extend, never rename).

Literal types, so each app's pydantic schema (scenario files, playbooks) rejects a misspelt
value with the list of accepted ones. They live here, in the layer both apps may import; the
directory's model vocabularies are in enrollment.enums.
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
    "update_os",
    "enter_code_promptly",
]

COMPLAINTS: tuple[str, ...] = get_args(Complaint)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)
CALLER_ACTIONS: tuple[str, ...] = get_args(CallerAction)
