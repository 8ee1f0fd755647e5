"""Human labels for every case vocabulary a person reads: caller actions, checks and what they
found, outcomes, root causes, node kinds, recovery (service) actions, sign-in results and
reasons. One module, in the layer every app may import, so no page shows a slug.

`say(vocabulary, value)` is the one way in; a value missing from its table still reads as
words (underscores become spaces, first letter capitalised), never as the raw slug. Tests in
tests/enrollment/test_labels.py prove every value of every vocabulary has a written label.
"""

from __future__ import annotations

from typing import Any

from enrollment.enums import Method
from enrollment.policy import DEFAULT_SOURCE, SETTING_LABELS
from enrollment.vocab import CALLER_ACTIONS, COMPLAINTS, OUTCOMES, ROOT_CAUSES

OUTCOME = {
    "enrolled": "Enrolled",
    "prompt_restored": "Prompt restored",
    "code_accepted": "Code accepted",
    "re_enrolled": "Re-enrolled",
    "bypass_issued": "Bypass code issued",
    "working_as_designed": "Working as designed",
    "escalated_tier2": "Escalated to tier 2",
    "escalated_security": "Escalated to security",
    "abandoned": "Abandoned",
}

ROOT_CAUSE = {
    "enrollment_incomplete": "Enrollment not finished",
    "device_incompatible": "Device not supported",
    "network_unreachable": "Phone could not reach the service",
    "qr_scan_blocked": "QR code could not be scanned",
    "invalid_manual_key": "Setup key typed wrongly",
    "activation_link_expired": "Activation link expired",
    "enrollment_link_expired": "Enrollment link expired",
    "activation_email_not_received": "Enrollment email not received",
    "duplicate_authenticator_name": "Authenticator name already taken",
    "invalid_token_serial": "Token serial does not match",
    "otp_channel_unavailable": "Code channel not available",
    "enrollment_not_enforced": "Enrollment not required by policy",
    "push_notifications_disabled": "Notifications turned off on the phone",
    "device_offline": "Phone offline",
    "push_token_stale": "Phone no longer registered for push",
    "app_outdated": "Authenticator app out of date",
    "policy_misconfiguration": "Policy set up wrongly",
    "mfa_disabled": "MFA switched off by policy",
    "remembered_device": "Device remembered, no prompt needed",
    "session_still_valid": "Still signed in, no prompt needed",
    "clock_skew": "Phone clock wrong",
    "sms_provider_unconfigured": "Text messages not set up",
    "sms_provider_unhealthy": "Text message provider failing",
    "sms_rate_limited": "Too many text messages sent",
    "phone_number_invalid": "Phone number not valid",
    "carrier_delay": "Mobile carrier delays messages",
    "email_code_filtered": "Email code caught by a filter",
    "code_expired": "Code expired before it was typed",
    "user_locked_out": "Account locked after failed attempts",
    "lost_device": "Device lost",
    "fallback_disabled": "No other method allowed",
    "user_disabled": "Account disabled",
    "authenticator_disabled": "Authenticator disabled",
    "no_authenticator": "No authenticator set up",
    "access_rule_denies": "Access rule blocks the sign-in",
    "fraud_reported": "Fraud reported",
}

# What the technician asks the caller to do (the instruct card reads "Ask the caller to: …").
CALLER_ACTION = {
    "enable_notifications": "turn on notifications for the authenticator app",
    "reconnect_network": "connect the phone to Wi-Fi or mobile data",
    "enable_automatic_time": "set the phone's date and time to automatic",
    "update_app": "update the authenticator app from the app store",
    "reinstall_app": "remove and reinstall the authenticator app",
    "grant_camera_permission": "allow the authenticator app to use the camera",
    "check_spam_folder": "look in the junk or spam folder",
    "open_enrollment_link": "open the enrollment link in the email",
    "scan_qr_code": "scan the QR code with the authenticator app",
    "enter_manual_key": "type the setup key into the authenticator app",
    "rename_authenticator": "give the authenticator a different name",
    "sign_out_and_in": "sign out and sign in again",
    "approve_push": "approve the sign-in request on the phone",
    "deny_push": "deny the sign-in request on the phone",
    "update_os": "update the phone's operating system",
    "enter_code_promptly": "type the code as soon as it arrives",
}

COMPLAINT = {
    "enrollment_failure": "Enrollment problem",
    "missing_prompt": "No sign-in prompt",
    "code_rejected": "Code not accepted",
    "code_not_received": "Code not received",
    "locked_out": "Locked out",
    "lost_device": "Lost device",
}

NODE_KIND = {
    "check": "Automatic check",
    "question": "Ask the caller",
    "decide": "Decision",
    "instruct": "Caller's task",
    "action": "Action",
    "verify": "Test sign-in",
    "subflow": "Sub-playbook",
    "end": "End",
}

# Recovery actions by their service name (enrollment.services, the approvals list) and by the
# playbook action names that run them.
SERVICE_ACTION = {
    "bypass_code_issue": "Issue a bypass code",
    "bypass_codes_revoke": "Revoke bypass codes",
    "end_user_unlock": "Unlock the account",
    "end_user_re_enroll": "Re-enroll",
    "enrollment_email_resend": "Resend the enrollment email",
    "activation_resend": "Resend the activation",
    "authenticator_reset": "Reset an authenticator",
    "authenticators_reset_all": "Reset all authenticators",
    "token_resync": "Resync a code generator",
    "device_mark_lost": "Mark a device lost",
    "identity": "Verify the caller's identity",
    "issue_bypass_code": "Issue a bypass code",
    "verify_identity": "Verify the caller's identity",
    "unlock_user": "Unlock the account",
    "re_enroll": "Re-enroll",
    "resend_enrollment": "Resend the enrollment email",
    "resend_activation": "Resend the activation",
    "reset_authenticator": "Reset the authenticator",
    "resync_token": "Resync the code generator",
    "correct_token_serial": "Correct the token serial",
    "add_mobile_number": "Add the caller's mobile number",
    "mark_device_lost": "Mark the device lost",
    "revoke_bypass_codes": "Revoke bypass codes",
}

# One line per automatic check and what it found ("Push delivered, not answered").
CHECK = {
    "remaining_access": "Other ways to sign in",
    "code_rejection": "Why the code was refused",
    "user_status": "Account status",
    "user_status_now": "Account status now",
    "enrollment_stage": "Enrollment progress",
    "device_compatibility": "Device support",
    "device_health": "Device health",
    "effective_policy": "Policy that applies",
    "contact_attributes": "Contact details",
    "authenticators": "Authenticators",
    "invitation_delivery": "Enrollment email",
    "replacement_device": "Replacement device",
    "auth_log": "Recent sign-ins",
    "fraud_signals": "Fraud signals",
    "sms_provider": "Text message provider",
    "email_provider": "Email provider",
    "recent_delivery": "Last code sent",
}

FINDING: dict[str, dict[str, str]] = {
    "remaining_access": {
        "other_method": "Another method still works",
        "replacement_device": "A replacement device is registered",
        "nothing_left": "No other way to sign in",
    },
    "code_rejection": {
        "app_code": "An app code was refused",
        "token_code": "A token code was refused",
        "message_expired": "A texted or emailed code had expired",
        "message_code": "A texted or emailed code was refused",
        "backup_code": "A bypass code was refused",
        "no_rejection": "No refused code on record",
    },
    "user_status": {
        "active": "Account active",
        "pending_enrollment": "Account waiting for enrollment",
        "bypass": "Account in bypass (no second factor asked)",
        "locked_out": "Account locked out",
        "disabled": "Account disabled",
    },
    "enrollment_stage": {
        "not_started": "Enrollment not started",
        "in_progress": "Enrollment started, not finished",
        "completed": "Enrollment finished",
        "link_expired": "Enrollment link expired",
        "activation_expired": "Activation expired",
        "failed": "Enrollment failed",
    },
    "device_compatibility": {
        "compatible": "Device supported",
        "os_too_old": "Operating system too old",
        "app_outdated": "Authenticator app too old",
        "no_device": "No device registered",
    },
    "device_health": {
        "healthy": "Device seen recently and reachable",
        "not_push_capable": "Device cannot receive push",
        "never_seen": "Device never checked in",
        "not_seen_recently": "Device not seen recently",
        "no_device": "No device registered",
    },
    "effective_policy": {
        "enforced": "MFA required on every sign-in the policy covers",
        "mfa_disabled": "MFA switched off by policy",
        "not_permitted": "The user is not allowed into this application",
        "exempt": "The user's group is exempt from MFA",
        "methods_not_allowed": "The user's method is not allowed by policy",
        "enrollment_optional": "Enrollment is optional for this user",
        "new_devices_only": "MFA asked only on new devices",
    },
    "contact_attributes": {
        "complete": "Email and phone on record",
        "missing": "Email or phone missing",
        "malformed": "Email or phone not valid",
    },
    "authenticators": {
        "name_conflict": "Two authenticators share a name",
        "active": "An active authenticator",
        "pending_activation": "Authenticator waiting for activation",
        "disabled": "Authenticator disabled",
        "none": "No authenticator",
    },
    "invitation_delivery": {
        "delivered": "Enrollment email delivered",
        "filtered": "Enrollment email filtered as junk",
        "pending": "Enrollment email still on its way",
        "failed": "Enrollment email not delivered",
        "not_sent": "No enrollment email sent",
    },
    "replacement_device": {
        "new_device": "A new device is registered",
        "none": "No replacement device",
    },
    "auth_log": {
        "no_attempts": "No recent sign-ins",
        "success": "Last sign-in succeeded",
        "denied": "Last sign-in denied",
        "fraud": "Last sign-in reported as fraud",
        "service_error": "Last sign-in failed at the service",
    },
    "fraud_signals": {"none": "No open fraud signals", "open": "Open fraud signals"},
    "sms_provider": {
        "healthy": "Text messages working",
        "unconfigured": "Text messages not set up",
        "unhealthy": "Text message provider failing",
        "rate_limited": "Text messages held back (too many sent)",
    },
    "email_provider": {"healthy": "Email working", "unhealthy": "Email provider failing"},
    "recent_delivery": {
        "none": "No code sent recently",
        "delivered": "Code delivered",
        "queued": "Code still queued",
        "failed": "Code not delivered",
        "delayed": "Code delayed by the carrier",
        "filtered": "Code caught by a filter",
        "rate_limited": "Code held back (too many sent)",
    },
}
FINDING["user_status_now"] = FINDING["user_status"]
# Every check can also fail or time out (troubleshooting.vocab.RESERVED_OUTCOMES).
_CHECK_FAILED = {
    "error": "The check failed; ask the caller instead",
    "timeout": "The service did not answer in time",
    "unknown": "The service does not report this",
}

# Branches of the other node kinds, as the path so far shows them.
BRANCH = {
    "done": "Done",
    "not_done": "Could not do it",
    "blocked": "Could not run",
    "failed": "Failed",
    "verified": "Verified",
    "not_verified": "Not verified",
    "success": "Signed in",
    "denied": "Denied",
    "fraud": "Reported as fraud",
    "error": "Error",
    "timeout": "No answer in time",
    "next": "Next",
    "yes": "Yes",
    "no": "No",
    "true": "Yes",
    "false": "No",
    "otherwise": "Any other case",
}

AUTH_RESULT = {"success": "Succeeded", "denied": "Denied", "fraud": "Fraud", "error": "Error"}
AUTH_REASON = {
    "user_approved": "Approved by the user",
    "valid_passcode": "Valid code",
    "remembered_device": "Remembered device",
    "bypass_user": "User in bypass",
    "allowed_by_policy": "Allowed by policy",
    "no_response": "No answer to the push",
    "invalid_passcode": "Wrong code",
    "locked_out": "Account locked",
    "user_disabled": "Account disabled",
    "denied_by_policy": "Denied by policy",
    "factor_restricted": "Method not allowed",
    "deny_unenrolled_user": "Not enrolled",
    "no_activated_app": "No activated app",
    "out_of_date": "App or system out of date",
    "platform_restricted": "Device type not allowed",
    "delivery_failed": "Could not deliver",
    "user_marked_fraud": "User reported fraud",
    "user_denied": "Denied by the user",
    "valid_session": "Already signed in",
    "push_timeout": "Push not answered in time",
}
FACTOR = {
    "push": "Push",
    "totp": "App code",
    "hotp_token": "Hardware token",
    "sms": "Text message",
    "voice": "Phone call",
    "email": "Email",
    "webauthn": "Security key",
    "backup_codes": "Bypass code",
    "auto": "Policy default",
}

PLATFORM = {
    "ios": "iOS",
    "android": "Android",
    "hardware_token": "Hardware token",
    "security_key": "Security key",
    "desktop": "Computer",
    "unreported": "Not reported by the service",
}

VOCABULARIES: dict[str, dict[str, str]] = {
    "outcome": OUTCOME,
    "root_cause": ROOT_CAUSE,
    "caller_action": CALLER_ACTION,
    "complaint": COMPLAINT,
    "node_kind": NODE_KIND,
    "service_action": SERVICE_ACTION,
    "check": CHECK,
    "branch": BRANCH,
    "auth_result": AUTH_RESULT,
    "auth_reason": AUTH_REASON,
    "factor": FACTOR,
    "policy_setting": dict(SETTING_LABELS),
    "platform": PLATFORM,
}

# The vocabularies of enrollment.vocab, which every table above must cover.
COVERED = {
    "outcome": OUTCOMES,
    "root_cause": ROOT_CAUSES,
    "caller_action": CALLER_ACTIONS,
    "complaint": COMPLAINTS,
}


def words(value: object) -> str:
    """A value no table knows, as words: never the slug itself."""
    text = str(value or "").replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def say(vocabulary: str, value: object) -> str:
    """The human label of `value` in `vocabulary` (see VOCABULARIES)."""
    if value in (None, ""):
        return ""
    return VOCABULARIES.get(vocabulary, {}).get(str(value)) or words(value)


def finding(check: str, outcome: str) -> str:
    """What an automatic check found, as one line ("Device not seen recently")."""
    return FINDING.get(check, {}).get(outcome) or _CHECK_FAILED.get(outcome) or words(outcome)


# --- Policy settings -----------------------------------------------------------------------------

_METHOD_LABELS = dict(Method.choices)


def policy_setting_text(name: str, value: Any) -> str:
    """A resolved policy setting's value as people read it ("every login", "Push, App code")."""
    if name == "max_invalid_attempts" and value is None:
        return "no limit"
    if name == "min_app_version" and not value:
        return "no minimum"
    if name == "permitted_groups" and not value:
        return "everyone"
    if name == "min_os_versions":
        return ", ".join(
            f"{PLATFORM.get(key, key)} {version} or later" for key, version in value.items()
        ) or ("no minimum")
    if isinstance(value, bool):
        return {
            "mfa_enabled": ("on", "off"),
            "allow_fallback": ("allowed", "not allowed"),
            "enrollment_required": ("required", "optional"),
        }.get(name, ("yes", "no"))[0 if value else 1]
    if name in ("allowed_methods", "default_method"):
        items = value if isinstance(value, list | tuple) else [value]
        return ", ".join(_METHOD_LABELS.get(item, words(item)) for item in items) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    if name == "enforcement":
        return {"every_login": "every login", "new_devices_only": "new devices only"}.get(
            value, words(value)
        )
    return str(value)


def policy_source_text(source: str) -> str:
    """Where a resolved setting came from ("application:VPN" reads "the VPN application's
    policy")."""
    if source == DEFAULT_SOURCE:
        return "built-in default"
    if source == "global":
        return "global policy"
    scope, _, name = str(source).partition(":")
    if scope == "application" and name:
        return f"the {name} application's policy"
    if scope == "group" and name:
        return f"the {name} group's policy"
    return words(source)
