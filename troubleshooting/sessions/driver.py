"""SessionDriver: what the wizard supplies at each node kind (an answer, an instruction
done or not, an action through its recovery service, identity verification, a
sign-in for a verify node, a subflow), and the branches a concluded sign-in or
identity verification take."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied

from enrollment import services as recovery
from enrollment.enums import VerificationStatus
from enrollment.mfa import MFAServiceError, get_mfa_service
from enrollment.models import Application, Authenticator, EndUser
from enrollment.services.guards import RecoveryRefused
from helpdesk.models import Staff, Ticket
from troubleshooting import engine, runner
from troubleshooting.actions import ACTIONS
from troubleshooting.checks import CheckContext
from troubleshooting.models import GuidedSession
from troubleshooting.schema import ActionNode, InstructNode, QuestionNode, SubflowNode, VerifyNode
from troubleshooting.sessions.action_inputs import (
    _input_refusal,
    action_authenticators,
    action_devices,
)
from troubleshooting.sessions.errors import EnterSubflow, InputError, SessionError, Waiting
from troubleshooting.sessions.trail import _record_step

logger = logging.getLogger(__name__)


class SessionDriver(runner.DirectoryDriver):
    """What the wizard supplies at each node: the technician's answer (`value`), the
    recovery services run as the technician, sign-ins through the MFA port. `record`
    writes the StepRecord, the TicketEvent and the new state in one transaction."""

    def __init__(
        self,
        session: GuidedSession,
        actor: Staff,
        *,
        value: Any = None,
        inputs: dict[str, Any] | None = None,
        reask_on_bad_input: bool = False,
    ):
        application = (
            Application.objects.filter(name=session.application).first()
            if session.application
            else None
        )
        end_user = EndUser.objects.get(pk=session.ticket.end_user_id)
        super().__init__(CheckContext.build(end_user, application, mfa=get_mfa_service()))
        self.session = session
        self.actor = actor
        self.value = value
        self.inputs = inputs or {}
        # Set by session_poll once the sign-in or identity push it waited for concluded.
        self.concluded: runner.NodeResult | None = None
        # A bypass code issued at an action node: shown once, never stored.
        self.revealed_code: str | None = None
        self.subflow_result: runner.NodeResult | None = None
        # The wizard shows the card again when what the technician entered cannot be used;
        # a driver with nobody to ask (simulate_case) takes the action's blocked branch.
        self.reask_on_bad_input = reask_on_bad_input

    @property
    def ticket(self) -> Ticket:
        return self.session.ticket

    @property
    def end_user(self) -> EndUser:
        return self.context.end_user

    # --- questions and instructions --------------------------------------------------------

    def answer(self, node: QuestionNode, state: engine.SessionState) -> bool | str:
        choices = {engine.answer_key(option.value): option.value for option in node.options}
        key = self.value if isinstance(self.value, str) else engine.answer_key(self.value)
        if key not in choices:
            raise SessionError("Choose one of the answers.")
        return choices[key]

    def instruct(self, node: InstructNode, state: engine.SessionState) -> runner.NodeResult:
        if self.value not in (True, False, engine.DONE, engine.NOT_DONE):
            raise SessionError("Say whether the caller did it.")
        done = self.value in (True, engine.DONE)
        note = str(self.inputs.get("note", "")).strip()
        return runner.NodeResult(
            engine.instruct_branch(done), evidence={"caller_said": note} if note else {}
        )

    # --- actions ------------------------------------------------------------------------------

    def action(self, node: ActionNode, state: engine.SessionState) -> runner.NodeResult:
        if self.concluded is not None:
            return self.concluded
        if node.action == "verify_identity":
            return self.verify_identity(node)
        refusal = self._engine_refusal(node)
        if refusal:
            return runner.NodeResult("blocked", evidence={"refused": refusal})
        reason = str(self.inputs.get("reason") or f"Guided session: {node.title}").strip()
        self._await_second_approval(node, reason)
        try:
            message = self._run_recovery(node.action, reason)
        except InputError as exc:
            if self.reask_on_bad_input:
                raise
            return runner.NodeResult("blocked", evidence={"refused": str(exc)})
        except (RecoveryRefused, PermissionDenied) as exc:
            text = getattr(exc, "message", None) or str(exc)
            return runner.NodeResult("blocked", evidence={"refused": text})
        except recovery.ActivationLinkStillValid as exc:
            return runner.NodeResult("blocked", evidence={"refused": str(exc)})
        except MFAServiceError as exc:
            # The service did not carry it out: the playbook's error branch, not a crash.
            logger.warning("action %s failed at the MFA service: %s", node.action, exc)
            return runner.NodeResult("error", evidence={"error": str(exc)})
        # The action changed the directory (status, enrollment, contacts): the checks that
        # follow in this request read the end user's row as it is now, not as it was loaded.
        self.end_user.refresh_from_db()
        return runner.NodeResult("done", evidence={"result": message} if message else {})

    def _await_second_approval(self, node: ActionNode, reason: str) -> None:
        """A privileged end user's (or an always-approved) action waits for a second staff
        member: the request goes to the approvers and the card waits on their decision,
        instead of the action being refused and the session moving on without it. Raises
        Waiting; nothing when no approval is needed or one is at hand. A request the
        services refuse (own account, closed ticket) is left to the action's own refusal."""
        spec = ACTIONS.get(node.action)
        if spec is None:
            return
        service = spec.service.rsplit(".", 1)[-1]
        if not recovery.second_approval_missing(
            ticket=self.ticket, action=service, actor=self.actor
        ):
            return
        try:
            approval = recovery.approval_request_create(
                actor=self.actor, ticket=self.ticket, kind="action", action=service, reason=reason
            )
        except (RecoveryRefused, PermissionDenied):
            return
        raise Waiting({"kind": "action_approval", "approval": approval.pk, "action": service})

    def _engine_refusal(self, node: ActionNode) -> str | None:
        """The engine's own guard, before any service runs: a recovery action needs a
        current identity verification on this ticket, and a user already in bypass status
        gets no further code from a guided session (what the earlier code was for must be
        settled first). The services check identity again; this holds even if a playbook
        or a service were wrong."""
        spec = ACTIONS.get(node.action)
        needs_identity = spec is not None and spec.requires_identity
        if needs_identity and recovery.identity_current(self.ticket) is None:
            return (
                "The caller's identity has not been verified on this ticket, so no "
                "recovery action can run."
            )
        if node.action == "issue_bypass_code":
            status = EndUser.objects.filter(pk=self.end_user.pk).values_list("status", flat=True)
            if status.first() == "bypass":
                return (
                    "The user is already in bypass status: find out why the earlier bypass "
                    "does not let them in before issuing another code."
                )
        return None

    def _run_recovery(self, action: str, reason: str) -> str:
        user = EndUser.objects.get(pk=self.end_user.pk)
        common = {"actor": self.actor, "ticket": self.ticket, "reason": reason}
        if action == "resend_enrollment":
            recovery.enrollment_email_resend(**common)
        elif action == "resend_activation":
            pending = self._chosen_authenticator(
                user, action_authenticators(user, action), first=True
            )
            recovery.activation_resend(**common, authenticator_id=pending.pk)
        elif action == "re_enroll":
            recovery.end_user_re_enroll(**common)
        elif action == "reset_authenticator":
            live = self._chosen_authenticator(user, action_authenticators(user, action), first=True)
            recovery.authenticator_reset(**common, authenticator_id=live.pk)
        elif action == "unlock_user":
            recovery.end_user_unlock(**common)
        elif action == "issue_bypass_code":
            issue = recovery.bypass_code_issue(**common)
            self.revealed_code = issue.codes[0]
            return "A single-use bypass code was issued and read out to the caller."
        elif action == "resync_token":
            authenticator = self._chosen_authenticator(user, action_authenticators(user, action))
            first = str(self.inputs.get("first_code") or "").strip()
            second = str(self.inputs.get("second_code") or "").strip()
            if not (first.isdigit() and second.isdigit()):
                raise InputError("Enter both codes the caller reads out, digits only.")
            if first == second:
                raise InputError("The two codes must be consecutive: wait for the next one.")
            result = _input_refusal(
                recovery.token_resync,
                {"resync_codes", "resync_match"},
                **common,
                authenticator_id=authenticator.pk,
                first_code=first,
                second_code=second,
            )
            return f"{authenticator} resynchronised (offset {result.offset_steps} step(s))."
        elif action == "mark_device_lost":
            devices = action_devices(user)
            raw = str(self.inputs.get("device_id") or "")
            chosen = next((d for d in devices if str(d.pk) == raw), None)
            if chosen is None:
                raise InputError("Choose the device the caller lost.")
            recovery.device_mark_lost(**common, device_id=chosen.pk)
            return f"{chosen.name} marked lost."
        elif action == "correct_token_serial":
            authenticator = self._chosen_authenticator(user, action_authenticators(user, action))
            serial = str(self.inputs.get("token_serial") or "").strip()
            if not serial:
                raise InputError("Enter the serial printed on the back of the token.")
            _input_refusal(
                recovery.token_serial_correct,
                {"token_serial", "token_serial_changed"},
                **common,
                authenticator_id=authenticator.pk,
                serial=serial,
            )
            return f"{authenticator} registered under serial {serial.upper()}."
        elif action == "add_mobile_number":
            number = str(self.inputs.get("mobile_number") or "").strip()
            if not number:
                raise InputError("Enter the caller's mobile number in international form.")
            _input_refusal(
                recovery.contact_number_add,
                {"contact_number_format"},
                **common,
                attribute="mobile",
                number=number,
            )
            return "The caller's mobile number was added."
        else:
            raise RecoveryRefused(f"The guided session cannot run {action} yet.")
        return ""

    def _chosen_authenticator(
        self, user: EndUser, choices: list[Authenticator], *, first: bool = False
    ) -> Authenticator:
        """The authenticator the technician chose on the card; without a choice, the only
        one, or (nobody to ask) the first or the newest."""
        if not choices:
            raise RecoveryRefused(
                "The user has no authenticator this action applies to.", guard="authenticator"
            )
        raw = str(self.inputs.get("authenticator_id") or "")
        if not raw and (len(choices) == 1 or not self.reask_on_bad_input):
            return choices[0] if first else choices[-1]
        chosen = next((a for a in choices if str(a.pk) == raw), None)
        if chosen is None:
            raise InputError("Choose the authenticator.")
        return chosen

    def verify_identity(self, node: ActionNode) -> runner.NodeResult:
        """The technician's choice of method: the verification already current on the
        ticket, a callback to a number of record, a verification push, a supervisor."""
        method = self.inputs.get("method", "")
        if method == "existing":
            current = recovery.identity_current(self.ticket)
            if current is None:
                raise SessionError("No verification counts on this ticket any more.")
            return _identity_verified(current.method, current.pk)
        if method == "not_verified":
            return runner.NodeResult("not_verified", evidence={"note": "Caller not verified"})
        try:
            if method == "callback":
                verification = recovery.identity_callback_attest(
                    actor=self.actor,
                    ticket=self.ticket,
                    phone_number=str(self.inputs.get("phone_number", "")),
                    confirmed=bool(self.inputs.get("confirmed")),
                )
                return _identity_verified("callback", verification.pk)
            if method == "push":
                verification = recovery.identity_push_send(
                    actor=self.actor,
                    ticket=self.ticket,
                    device_id=int(self.inputs.get("device_id") or 0),
                )
                if verification.status == VerificationStatus.FAILED:
                    return runner.NodeResult(
                        "not_verified", evidence={"push": verification.detail or "failed"}
                    )
                raise Waiting({"kind": "identity_push", "verification": verification.pk})
            if method == "supervisor":
                approval = recovery.approval_request_create(
                    actor=self.actor,
                    ticket=self.ticket,
                    kind="identity",
                    reason=str(self.inputs.get("reason") or "Identity for a guided session"),
                )
                raise Waiting({"kind": "identity_supervisor", "approval": approval.pk})
        except (RecoveryRefused, PermissionDenied) as exc:
            raise SessionError(getattr(exc, "message", None) or str(exc)) from exc
        raise SessionError("Choose how to verify the caller.")

    # --- verify -------------------------------------------------------------------------------

    def verify(self, node: VerifyNode, state: engine.SessionState) -> runner.NodeResult:
        if self.concluded is not None:
            return self.concluded
        passcode = str(self.inputs.get("passcode") or "").strip() or None
        try:
            attempt = get_mfa_service().sign_in(
                end_user_id=self.end_user.pk,
                application=node.application or self.session.application or None,
                factor=node.factor,
                passcode=passcode,
            )
        except MFAServiceError as exc:
            branch = "error" if "error" in node.outcomes else next(iter(node.outcomes))
            return runner.NodeResult(branch, evidence={"error": str(exc)})
        if attempt.is_pending:
            raise Waiting({"kind": "verify", "attempt": attempt.id, "factor": attempt.factor})
        return attempt_result(node, attempt)

    def subflow(self, node: SubflowNode, state: engine.SessionState) -> runner.NodeResult:
        # Set by the session when the sub-playbook it entered reached its end.
        if self.subflow_result is not None:
            result, self.subflow_result = self.subflow_result, None
            return result
        raise EnterSubflow(node)

    # --- the record -------------------------------------------------------------------------

    def record(self, step: runner.Step, state: engine.SessionState) -> None:
        _record_step(self.session, self.actor, step, state)


def attempt_result(node: VerifyNode, attempt) -> runner.NodeResult:
    """A concluded sign-in attempt as the verify node's branch."""
    branch = "timeout" if attempt.is_pending else (attempt.result or "error")
    if branch not in node.outcomes:
        branch = "error"
    return runner.NodeResult(
        branch,
        facts={"verify_reason": attempt.reason, "verify_factor": attempt.factor},
        evidence={
            "attempt": attempt.id,
            "result": attempt.result,
            "reason": attempt.reason,
            "factor": attempt.factor,
        },
    )


def _identity_verified(method: str, verification_id: int | None) -> runner.NodeResult:
    return runner.NodeResult(
        "verified",
        facts={"identity_verified_by": method},
        evidence={"method": method, "verification": verification_id},
    )
