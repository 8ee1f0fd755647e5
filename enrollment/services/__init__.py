"""Directory services: enrollment and activation links, and the guarded recovery actions.

Import from here; the modules are an implementation detail:

- links: the unguarded link building blocks (enroll-by kept on resend, one unexpired
  activation link at a time);
- guards, ratelimit: the guardrails every recovery action passes;
- identity, approvals: verifying the caller, supervisor approvals;
- bypass: bypass codes, including `bypass_code_redeem`, which the MFA service calls at
  sign-in;
- recovery: re-enroll, resends, resets, resync, unlock, lost device;
- corrections: a hardware token's mistyped serial, a missing contact number of record;
- notify: telling the end user through the MFA service's own email channel.
"""

from enrollment.services.approvals import (
    approval_decide,
    approval_get_for_decision,
    approval_get_visible,
    approval_request_create,
    approvals_pending_count_for,
    approvals_pending_visible_to,
)
from enrollment.services.bypass import (
    BypassIssue,
    bypass_code_issue,
    bypass_code_redeem,
    bypass_codes_handed_over,
    bypass_codes_revoke,
    bypass_statuses_refresh,
)
from enrollment.services.corrections import contact_number_add, token_serial_correct
from enrollment.services.directory_sync import SyncReport, directory_sync, end_user_sync
from enrollment.services.guards import (
    ACTIONS,
    GuardResult,
    RecoveryRefused,
    second_approval_missing,
)
from enrollment.services.identity import (
    IdentityRefused,
    identity_callback_attest,
    identity_current,
    identity_push_refresh,
    identity_push_send,
    identity_verify,
)
from enrollment.services.links import (
    ActivationLinkStillValid,
    EnrollmentLinkExpired,
    activation_link_issue,
    enrollment_link_issue,
    enrollment_link_resend,
)
from enrollment.services.recovery import (
    ReEnrollment,
    activation_resend,
    authenticator_reset,
    authenticator_resync,
    authenticators_reset_all,
    device_mark_lost,
    end_user_re_enroll,
    end_user_unlock,
    enrollment_email_resend,
    token_resync,
)

__all__ = [
    "ACTIONS",
    "ActivationLinkStillValid",
    "BypassIssue",
    "EnrollmentLinkExpired",
    "GuardResult",
    "IdentityRefused",
    "ReEnrollment",
    "RecoveryRefused",
    "SyncReport",
    "activation_link_issue",
    "activation_resend",
    "approval_decide",
    "approval_get_for_decision",
    "approval_get_visible",
    "approval_request_create",
    "approvals_pending_count_for",
    "approvals_pending_visible_to",
    "authenticator_reset",
    "authenticator_resync",
    "authenticators_reset_all",
    "bypass_code_issue",
    "bypass_code_redeem",
    "bypass_codes_handed_over",
    "bypass_codes_revoke",
    "bypass_statuses_refresh",
    "contact_number_add",
    "device_mark_lost",
    "directory_sync",
    "end_user_re_enroll",
    "end_user_sync",
    "end_user_unlock",
    "enrollment_email_resend",
    "enrollment_link_issue",
    "enrollment_link_resend",
    "identity_callback_attest",
    "identity_current",
    "identity_push_refresh",
    "identity_push_send",
    "identity_verify",
    "second_approval_missing",
    "token_resync",
    "token_serial_correct",
]
