"""Recovery actions a playbook's action nodes may run, each with its declared guards.

The services themselves belong to the recovery-actions issue (enrollment services); this
registry names each action's service by dotted path, its outcomes and its guards, so the
linter can validate playbooks now and the wizard can call the service once it exists.

Guards (checked by the service at run time, restated here so a playbook cannot drop them):
- identity_verified: a recent identity verification of the caller on this ticket (a push to
  an already-active device, a callback to the phone number of record, or a supervisor's
  approval); knowledge questions never count;
- capability:<name>: the acting staff member holds that helpdesk.roles.Capability;
- not_self: nobody acts on their own account;
- no_open_fraud: open fraud signals block recovery (the case goes to security);
- second_approver_if_privileged: a second staff member approves when the end user is
  privileged;
- reason: the technician writes why.

The services record guard results under their own names (enrollment.services.guards):
`capability:<name>` is their `capability`, `second_approver_if_privileged` their
`second_approver`; SERVICE_GUARD_NAMES maps ours to theirs.

`requires_identity` actions must be preceded by a verify_identity node (taken through its
`verified` outcome) on every path — the linter proves it by enumerating paths.
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTITY_VERIFIED = "identity_verified"

# Our guard names -> the names enrollment.services.guards records.
SERVICE_GUARD_NAMES: dict[str, str] = {
    IDENTITY_VERIFIED: "identity_verified",
    "capability:recovery_actions": "capability",
    "capability:work_tickets": "capability",
    "not_self": "not_self",
    "no_open_fraud": "no_open_fraud",
    "second_approver_if_privileged": "second_approver",
    "reason": "reason",
}

# Every recovery action's outcomes: it ran; a guard refused it; it failed.
RECOVERY_OUTCOMES: tuple[str, ...] = ("done", "blocked", "error")

_SENSITIVE_GUARDS: tuple[str, ...] = (
    IDENTITY_VERIFIED,
    "capability:recovery_actions",
    "not_self",
    "no_open_fraud",
    "second_approver_if_privileged",
    "reason",
)
_ROUTINE_GUARDS: tuple[str, ...] = ("capability:recovery_actions", "not_self", "no_open_fraud")


@dataclass(frozen=True)
class ActionSpec:
    name: str
    service: str  # dotted path of the service function (enrollment.services)
    guards: tuple[str, ...]
    outcomes: tuple[str, ...] = RECOVERY_OUTCOMES
    # A remediation must be followed by a successful verify before a resolved end.
    remediation: bool = True
    # Establishes the caller's identity when left through this outcome.
    verifies_identity_via: str | None = None
    # Facts the action sets for later conditions.
    facts: tuple[str, ...] = ()
    description: str = ""
    # Other services that complete the same step (identity: callback, supervisor approval).
    also: tuple[str, ...] = ()
    # Something only the caller can tell (read off their token, their own number), which the
    # technician enters with the action: (input name, label). Named in CALLER_INPUTS.
    asks: tuple[str, str] | None = None

    @property
    def requires_identity(self) -> bool:
        return IDENTITY_VERIFIED in self.guards


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "verify_identity",
            "enrollment.services.identity_verify",
            guards=("capability:work_tickets", "not_self"),
            outcomes=("verified", "not_verified", "error", "timeout"),
            remediation=False,
            verifies_identity_via="verified",
            facts=("identity_verified_by",),
            also=(
                "enrollment.services.identity_push_refresh",
                "enrollment.services.approval_decide",
            ),
            description=(
                "Verify the caller: a push to an already-active device, a callback to the "
                "phone number of record, or a supervisor's approval."
            ),
        ),
        ActionSpec(
            "issue_bypass_code",
            "enrollment.services.bypass_code_issue",
            guards=_SENSITIVE_GUARDS,
            description="A single-use bypass code, shown once, notified through another channel.",
        ),
        ActionSpec(
            "re_enroll",
            "enrollment.services.end_user_re_enroll",
            guards=_SENSITIVE_GUARDS,
            description="Remove the existing setup and start a full enrollment again.",
        ),
        ActionSpec(
            "reset_authenticator",
            "enrollment.services.authenticator_reset",
            guards=_SENSITIVE_GUARDS,
            description="Forget the authenticator's registration so it can be activated again.",
        ),
        ActionSpec(
            "unlock_user",
            "enrollment.services.end_user_unlock",
            guards=_SENSITIVE_GUARDS,
            description="Clear the lockout and the invalid-attempt counters.",
        ),
        ActionSpec(
            "resend_enrollment",
            "enrollment.services.enrollment_email_resend",
            guards=_ROUTINE_GUARDS,
            description=(
                "Send the enrollment email again to the address of record (a new link when "
                "the old one has expired)."
            ),
        ),
        ActionSpec(
            "resend_activation",
            "enrollment.services.activation_resend",
            guards=_ROUTINE_GUARDS,
            description="Send a new activation for a pending authenticator.",
        ),
        ActionSpec(
            "resync_token",
            "enrollment.services.token_resync",
            guards=(*_ROUTINE_GUARDS, "reason"),
            description="Resynchronise a code generator from two consecutive codes.",
        ),
        ActionSpec(
            "correct_token_serial",
            "enrollment.services.token_serial_correct",
            guards=_SENSITIVE_GUARDS,
            asks=("token_serial", "Serial printed on the back of the token"),
            description=(
                "Register the caller's hardware token under the serial printed on its back and "
                "assign it."
            ),
        ),
        ActionSpec(
            "add_mobile_number",
            "enrollment.services.contact_number_add",
            guards=_SENSITIVE_GUARDS,
            asks=("mobile_number", "The caller's mobile number (international form)"),
            description=(
                "Add the caller's mobile number to a directory record that has none, so text "
                "messages can reach them; an existing number is never changed."
            ),
        ),
        ActionSpec(
            "mark_device_lost",
            "enrollment.services.device_mark_lost",
            guards=("capability:recovery_actions", "not_self", "reason"),
            remediation=False,
            description="Record the device as lost so nothing is sent to it any more.",
        ),
    )
}

# What the caller may be asked to tell for an action (ActionSpec.asks), by input name.
CALLER_INPUTS: dict[str, str] = {
    spec.asks[0]: spec.asks[1] for spec in ACTIONS.values() if spec.asks
}
