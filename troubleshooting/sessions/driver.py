"""Guided sessions: a ticket worked node by node through a pinned playbook version.

The wizard calls these services one request at a time; simulate_case calls the same ones
in a loop with the automated caller as its driver (troubleshooting.simulation). Both go
through runner.advance, so the engine, checks, guards and recovery services are the same.

- session_start pins the current published version for the ticket's complaint, refuses a
  second active session on the ticket, and runs the automatic nodes (checks, decisions)
  up to the first node that needs someone: a question, an instruction, an action, a verify.
- session_advance answers the current node (a question's option, whether an instruction
  was done) or runs it (an action through its enrollment service, a verify as a sign-in
  through the MFA port); a push the end user has to answer leaves the session waiting,
  and session_poll picks the answer up.
- session_go_back supersedes the steps from an earlier one on (never deletes them) and
  rebuilds the state by replaying the steps still current.
- session_resume / session_abandon.

Every step writes its StepRecord and a session.step TicketEvent in one transaction (the
driver's record()). Ending the session resolves or escalates the ticket with the outcome
and root causes, and keeps the handoff packet of an escalation on the session and in the
trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Max
from django.http import Http404

import troubleshooting.events  # noqa: F401  (registers the session.step payload)
from enrollment import clock
from enrollment import services as recovery
from enrollment.enums import ApprovalStatus, AuthenticatorStatus, Method, VerificationStatus
from enrollment.mfa import MFAServiceError, get_mfa_service
from enrollment.models import (
    Application,
    ApprovalRequest,
    Authenticator,
    Device,
    EndUser,
    IdentityVerification,
)
from enrollment.services.guards import RecoveryRefused
from helpdesk.enums import EventKind, Tier
from helpdesk.models import Staff, Ticket
from helpdesk.permissions import end_user_in_scope
from helpdesk.roles import Capability
from helpdesk.services.audit import ticket_event_record
from helpdesk.services.tickets import TicketError, ticket_escalate, ticket_resolve
from troubleshooting import engine, runner
from troubleshooting.checks import CheckContext
from troubleshooting.events import SessionEventPayload
from troubleshooting.models import GuidedSession, PlaybookVersion, SessionStatus, StepRecord
from troubleshooting.schema import (
    ActionNode,
    CheckNode,
    DecideNode,
    EndNode,
    InstructNode,
    PlaybookDefinition,
    QuestionNode,
    SubflowNode,
    VerifyNode,
)
from troubleshooting.selectors import (
    playbook_definition,
    playbook_version_current,
    playbook_version_for_complaint,
)
from troubleshooting.vocab import ESCALATION_OUTCOMES

logger = logging.getLogger(__name__)

AUTOMATIC = (CheckNode, DecideNode)
# Safety net for a driver that keeps answering automatic nodes in a circle (the linter
# bounds loops; this only stops an unlinted definition from hanging a request).
_MAX_AUTOMATIC_STEPS = 200


class SessionError(Exception):
    """The request does not fit the session (ended, moved on, a missing answer …). The
    message is for the technician."""


class InputError(SessionError):
    """What the technician entered for the node cannot be used (a missing choice, codes that
    are not digits, codes the service could not match): the card is shown again with the
    message and what was entered, and the session stays where it was."""


# A form for a node the session has already left, or a step someone else recorded first.
STALE_NODE = "The session has moved on; here is where it stands now."
STALE_STEP = (
    "Another technician recorded this step first; nothing was recorded twice. Here is where "
    "the session stands now."
)


class EnterSubflow(Exception):
    """The current node runs another playbook: the session enters it (a new frame)."""

    def __init__(self, node: SubflowNode):
        super().__init__(node.playbook)
        self.node = node


class Waiting(Exception):
    """The node waits for the end user (a push to answer, a supervisor to decide)."""

    def __init__(self, pending: dict[str, Any]):
        super().__init__(pending.get("kind", "waiting"))
        self.pending = pending


# --- Access ------------------------------------------------------------------------------------


def _require(actor: Staff, ticket: Ticket) -> None:
    if not actor.has_capability(Capability.WORK_TICKETS):
        raise PermissionDenied(f"Your role may not do this ({Capability.WORK_TICKETS}).")
    if not end_user_in_scope(actor, ticket.end_user_id):
        raise Http404("No such ticket.")


def _require_active(session: GuidedSession) -> None:
    if session.status != SessionStatus.ACTIVE:
        raise SessionError("This guided session has ended.")


# --- The drivers -------------------------------------------------------------------------------


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
        reason = str(self.inputs.get("reason") or f"Guided session: {node.title}").strip()
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
        return runner.NodeResult("done", evidence={"result": message} if message else {})

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


def action_authenticators(user: EndUser, action: str) -> list[Authenticator]:
    """The authenticators an action node offers to choose from."""
    live = Authenticator.objects.filter(end_user=user).exclude(status=AuthenticatorStatus.REVOKED)
    if action == "resend_activation":
        return list(live.filter(status=AuthenticatorStatus.PENDING_ACTIVATION).order_by("pk"))
    methods = {
        "resync_token": (Method.TOTP, Method.HOTP_TOKEN),
        "correct_token_serial": (Method.HOTP_TOKEN,),
        "reset_authenticator": (Method.PUSH,),
    }.get(action)
    if methods is None:
        return []
    return list(live.filter(method__in=methods).order_by("pk"))


def action_devices(user: EndUser) -> list[Device]:
    """The devices a mark-lost action may choose from (not already lost)."""
    return list(Device.objects.filter(end_user=user, lost_at__isnull=True).order_by("name", "pk"))


def _input_refusal(service, input_guards: set[str], **kwargs):
    """Runs a recovery service; a refusal about what was entered (not a guard on the caller
    or the technician) asks for the input again instead of taking the blocked branch."""
    try:
        return service(**kwargs)
    except RecoveryRefused as exc:
        if exc.guard in input_guards:
            raise InputError(exc.message) from exc
        raise


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


# --- Frames: the session's playbook and the subflows it is inside --------------------------------

SUBFLOWS = "subflows"


@dataclass(frozen=True)
class Frame:
    """Where the session works now: its own playbook (depth 0) or the sub-playbook a
    subflow node entered, with the version that subflow pinned and its engine state."""

    version: PlaybookVersion
    definition: PlaybookDefinition
    state: engine.SessionState
    depth: int
    # The subflow node of the playbook one level up (None at depth 0).
    entered_from: str | None = None


def _version(pk: int) -> PlaybookVersion:
    return PlaybookVersion.objects.select_related("playbook").get(pk=pk)


def session_frame(session: GuidedSession) -> Frame:
    """The frame the session's current node is in."""
    frames = session.state.get(SUBFLOWS) or []
    if not frames:
        return Frame(session.version, _definition(session), session_state(session), 0)
    top = frames[-1]
    version = _version(top["version"])
    return Frame(
        version,
        playbook_definition(version),
        engine.SessionState.from_dict(top["state"]),
        len(frames),
        top["node"],
    )


def _with_frame_state(session: GuidedSession, state: engine.SessionState) -> dict[str, Any]:
    """session.state with the current frame's engine state replaced (any wait cleared)."""
    frames = session.state.get(SUBFLOWS) or []
    if not frames:
        return state.as_dict()
    outer = {k: v for k, v in session.state.items() if k not in ("pending", SUBFLOWS)}
    return dict(outer, **{SUBFLOWS: [*frames[:-1], dict(frames[-1], state=state.as_dict())]})


def _save_state(session: GuidedSession, state: dict[str, Any]) -> None:
    session.state = state
    GuidedSession.objects.filter(pk=session.pk).update(state=state)


def _shown(definition: PlaybookDefinition, step: runner.Step, state: engine.SessionState):
    """The options as the card showed them (branch and label) and, for a question, the
    answer under its fact name: a record that reads the same after the playbook changed."""
    node = definition.node(step.node)
    facts = dict(step.facts)
    if isinstance(node, QuestionNode):
        labels = {engine.answer_key(option.value): option.label for option in node.options}
        facts[node.fact] = state.facts.get(node.fact)
    else:
        labels = {}
    options = [{"branch": branch, "label": labels.get(branch, branch)} for branch in step.options]
    return options, facts


def _record_step(
    session: GuidedSession, actor: Staff, step: runner.Step, state: engine.SessionState
) -> StepRecord:
    frame = session_frame(session)
    options, facts = _shown(frame.definition, step, state)
    with transaction.atomic():
        locked = GuidedSession.objects.select_for_update().get(pk=session.pk)
        last = locked.steps.aggregate(last=Max("sequence"))["last"] or 0
        record = StepRecord.objects.create(
            session=locked,
            sequence=last + 1,
            version=frame.version,
            node=step.node,
            kind=step.kind,
            title=step.title,
            prompt=step.prompt,
            options=options,
            branch=step.branch,
            target=step.target,
            evidence=step.evidence,
            facts=facts,
            condition_inputs=step.condition_inputs,
            named_causes=list(step.named_causes),
            error=step.error or "",
            actor=actor,
            at=clock.now(),
        )
        ticket_event_record(
            ticket=session.ticket,
            kind=EventKind.SESSION_STEP,
            actor=actor,
            payload=_payload(
                session,
                "step",
                version=frame.version,
                sequence=record.sequence,
                node=step.node,
                kind=step.kind,
                branch=step.branch,
                target=step.target,
                evidence=step.evidence,
            ),
        )
        _save_state(session, _with_frame_state(session, state))
    return record


def _payload(
    session: GuidedSession,
    event: str,
    *,
    version: PlaybookVersion | None = None,
    **fields: Any,
) -> SessionEventPayload:
    """A session.step payload; `version` is the playbook version of the step's frame (the
    session's own by default)."""
    version = version or session.version
    return SessionEventPayload(
        session=session.pk,
        event=event,
        playbook=version.playbook.slug,
        version=version.number,
        **fields,
    )


# --- Services ----------------------------------------------------------------------------------


def _definition(session: GuidedSession) -> PlaybookDefinition:
    return playbook_definition(session.version)


def session_state(session: GuidedSession) -> engine.SessionState:
    """The engine state of the session's own playbook (subflows it is inside aside)."""
    return engine.SessionState.from_dict(session.state)


def _base_facts(ticket: Ticket, application: str) -> dict[str, Any]:
    return {"complaint": ticket.category, "application": application or None}


def session_start(
    *,
    actor: Staff,
    ticket: Ticket,
    application: str = "",
    driver: runner.Driver | None = None,
) -> GuidedSession:
    """Starts a guided session on the ticket, pinned to the current published version of
    the playbook for its complaint, and runs its automatic first nodes.

    Side effects: a GuidedSession, a session.step event (started), StepRecords and events
    for the automatic steps. Raises PermissionDenied, Http404, SessionError (an active
    session exists, no published playbook for the complaint)."""
    _require(actor, ticket)
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").get()
        if GuidedSession.objects.filter(ticket=ticket, status=SessionStatus.ACTIVE).exists():
            raise SessionError("This ticket already has an active guided session; resume it.")
        version = playbook_version_for_complaint(ticket.category)
        if version is None:
            raise SessionError(f"No playbook is published for {ticket.category} complaints.")
        definition = playbook_definition(version)
        state = engine.start(definition, _base_facts(ticket, application))
        session = GuidedSession.objects.create(
            ticket=ticket,
            version=version,
            application=application,
            state=state.as_dict(),
            started_by=actor,
            started_at=clock.now(),
        )
        ticket_event_record(
            ticket=ticket,
            kind=EventKind.SESSION_STEP,
            actor=actor,
            payload=_payload(session, "started"),
        )
    _run_automatic(session, actor, driver or SessionDriver(session, actor))
    return session


def _run_automatic(session: GuidedSession, actor: Staff, driver: runner.Driver) -> None:
    """Runs checks and decisions, enters and leaves subflows, up to the next node that
    needs someone, or ends the session at its end node."""
    for _ in range(_MAX_AUTOMATIC_STEPS):
        frame = session_frame(session)
        if frame.state.finished:
            if frame.depth == 0:
                _end(session, actor)
                return
            _leave_subflow(session, driver, frame)
            continue
        node = frame.definition.node(frame.state.node)
        if isinstance(node, SubflowNode):
            _step(session, driver, frame)
            continue
        if not isinstance(node, AUTOMATIC):
            return
        _step(session, driver, frame)


def _step(session: GuidedSession, driver: runner.Driver, frame: Frame) -> None:
    """One node of the current frame through the driver (a subflow node enters its
    playbook instead)."""
    try:
        runner.advance(frame.definition, frame.state, driver)
    except EnterSubflow as entering:
        _enter_subflow(session, frame, entering.node)
        return
    session.refresh_from_db(fields=["state"])


def _enter_subflow(session: GuidedSession, frame: Frame, node: SubflowNode) -> None:
    """Pins the current published version of the sub-playbook and starts it with the facts
    gathered so far; its steps are recorded with that version."""
    version = playbook_version_current(node.playbook)
    if version is None:
        raise SessionError(f"The playbook {node.playbook} is not published; it cannot run here.")
    definition = playbook_definition(version)
    sub = engine.start(definition, dict(frame.state.facts))
    frames = [
        *(session.state.get(SUBFLOWS) or []),
        {"node": node.id, "playbook": version.playbook.slug, "version": version.pk, "state": {}},
    ]
    state = dict({k: v for k, v in session.state.items() if k != "pending"}, **{SUBFLOWS: frames})
    session.state = state
    _save_state(session, _with_frame_state(session, sub))


def _leave_subflow(session: GuidedSession, driver: runner.Driver, frame: Frame) -> None:
    """The sub-playbook reached its end: its outcome picks the subflow node's branch in the
    playbook one level up, and the root causes it named carry over."""
    frames = session.state.get(SUBFLOWS) or []
    rest = frames[:-1]
    session.state = (
        dict(session.state, **{SUBFLOWS: rest})
        if rest
        else {k: v for k, v in session.state.items() if k != SUBFLOWS}
    )
    outer = session_frame(session)
    node = outer.definition.node(outer.state.node)
    sub = frame.state
    driver.subflow_result = runner.NodeResult(
        engine.subflow_branch(node, sub.outcome),
        evidence={
            "playbook": frame.version.playbook.slug,
            "version": frame.version.number,
            "outcome": sub.outcome,
            "root_causes": list(sub.root_causes),
        },
        named_causes=tuple(sub.root_causes),
    )
    runner.advance(outer.definition, outer.state, driver)
    session.refresh_from_db(fields=["state"])


def _lock(session: GuidedSession) -> None:
    """Locks the session row for the rest of the transaction and reloads what may have
    changed since the request read it (another technician's step)."""
    locked = GuidedSession.objects.select_for_update().get(pk=session.pk)
    session.state, session.status = locked.state, locked.status


def _last_sequence(session: GuidedSession) -> int:
    return session.steps.aggregate(last=Max("sequence"))["last"] or 0


def session_advance(
    *,
    actor: Staff,
    session: GuidedSession,
    node: str | None = None,
    value: Any = None,
    inputs: dict[str, Any] | None = None,
    driver: runner.Driver | None = None,
    after: int | None = None,
) -> SessionDriver | runner.Driver:
    """Answers or runs the current node, then runs the automatic nodes after it.

    `node` is the node the technician answered and `after` the last step the card had seen:
    the session row is locked, and a form for a node the session has left, or one someone
    else answered first, is refused (nothing is recorded twice). `value` is the option or
    done/not_done; `inputs` what an action or verify needs (reason, identity method,
    passcode, the device or authenticator, codes). Returns the driver (its
    `revealed_code` holds a bypass code to show once).

    Side effects: StepRecords and session.step events; recovery actions, sign-ins and
    identity verifications through their services; at an end node the ticket is resolved
    or escalated. Raises PermissionDenied, Http404, SessionError (InputError: the card's
    input needs correcting)."""
    _require(actor, session.ticket)
    error: SessionError | None = None
    with transaction.atomic():
        _lock(session)
        _require_active(session)
        frame = session_frame(session)
        if node is not None and node != frame.state.node:
            raise SessionError(STALE_NODE)
        if after is not None and after != _last_sequence(session):
            raise SessionError(STALE_STEP)
        if session.state.get("pending"):
            raise SessionError("Waiting for the end user; the card updates by itself.")
        driver = driver or SessionDriver(
            session, actor, value=value, inputs=inputs, reask_on_bad_input=True
        )
        try:
            _advance_once(session, actor, driver, frame)
        except SessionError as exc:
            # Keep what the services recorded (a refusal stays on the trail); the session
            # itself has not moved.
            error = exc
    if error is not None:
        session.refresh_from_db(fields=["state", "status"])
        raise error
    return driver


def _advance_once(
    session: GuidedSession, actor: Staff, driver: runner.Driver, frame: Frame
) -> None:
    node = frame.definition.node(frame.state.node)
    if isinstance(node, EndNode):
        _run_automatic(session, actor, driver)
        return
    try:
        _step(session, driver, frame)
    except Waiting as waiting:
        pending = dict(waiting.pending, node=frame.state.node, since=clock.now().isoformat())
        _save_state(session, dict(session.state, pending=pending))
        return
    _run_automatic(session, actor, driver)


def session_poll(*, actor: Staff, session: GuidedSession) -> bool:
    """Asks whether the end user answered what the session waits for (a sign-in push, an
    identity push, a supervisor's approval). Returns True while still waiting.

    Side effects: when concluded, the step is recorded and the session moves on (as
    session_advance). Raises PermissionDenied, Http404, SessionError."""
    _require(actor, session.ticket)
    with transaction.atomic():
        _lock(session)
        _require_active(session)
        pending = session.state.get("pending")
        if not pending:
            return False
        frame = session_frame(session)
        node = frame.definition.node(pending["node"])
        concluded = _conclusion(actor, session, node, pending)
        if concluded is None:
            return True
        session.state = {key: value for key, value in session.state.items() if key != "pending"}
        GuidedSession.objects.filter(pk=session.pk).update(state=session.state)
        driver = SessionDriver(session, actor)
        driver.concluded = concluded
        _advance_once(session, actor, driver, session_frame(session))
    return False


def _conclusion(
    actor: Staff, session: GuidedSession, node: Any, pending: dict[str, Any]
) -> runner.NodeResult | None:
    kind = pending.get("kind")
    if kind == "verify":
        try:
            attempt = get_mfa_service().attempt(attempt_id=pending["attempt"])
        except MFAServiceError:
            return None  # the service did not answer this time; the next poll asks again
        return None if attempt.is_pending else attempt_result(node, attempt)
    if kind == "identity_push":
        verification = IdentityVerification.objects.get(
            pk=pending["verification"], ticket=session.ticket
        )
        verification = recovery.identity_push_refresh(actor=actor, verification=verification)
        if verification.status == VerificationStatus.PENDING:
            return None
        if verification.status == VerificationStatus.VERIFIED:
            return _identity_verified("push", verification.pk)
        return runner.NodeResult("not_verified", evidence={"push": verification.status})
    if kind == "identity_supervisor":
        approval = ApprovalRequest.objects.get(pk=pending["approval"], ticket=session.ticket)
        if approval.status == ApprovalStatus.PENDING:
            return None
        if approval.status == ApprovalStatus.DENIED:
            return runner.NodeResult("not_verified", evidence={"supervisor": "denied"})
        current = recovery.identity_current(session.ticket)
        return _identity_verified("supervisor", current.pk if current else None)
    raise SessionError(f"Unknown wait {kind!r}.")


def session_go_back(*, actor: Staff, session: GuidedSession, sequence: int) -> GuidedSession:
    """Goes back to step `sequence` to answer it again: that step and every later current
    step are marked superseded (kept, never deleted) and the state is rebuilt by replaying
    the steps before it (inside the subflows they were taken in); automatic nodes run again.

    Side effects: superseded_at on StepRecords, a session.step event (back). Raises
    PermissionDenied, Http404, SessionError (no such current step)."""
    _require(actor, session.ticket)
    with transaction.atomic():
        _lock(session)
        _require_active(session)
        locked = GuidedSession.objects.get(pk=session.pk)
        current = list(
            locked.steps.filter(superseded_at__isnull=True)
            .select_related("version__playbook")
            .order_by("sequence")
        )
        if sequence not in {record.sequence for record in current}:
            raise SessionError("That step is no longer part of the session.")
        kept = [record for record in current if record.sequence < sequence]
        state = _replay(session, kept)
        locked.steps.filter(superseded_at__isnull=True, sequence__gte=sequence).update(
            superseded_at=clock.now()
        )
        _save_state(session, state)
        ticket_event_record(
            ticket=session.ticket,
            kind=EventKind.SESSION_STEP,
            actor=actor,
            payload=_payload(
                session, "back", superseded_from=sequence, node=session_frame(session).state.node
            ),
        )
        _run_automatic(session, actor, SessionDriver(session, actor))
    return session


def _replay(session: GuidedSession, records: list[StepRecord]) -> dict[str, Any]:
    """session.state rebuilt from the current step records. A record of another playbook
    version than the current frame's either closes subflows (the subflow node's own record,
    one level up) or lies inside a subflow the frame's current node enters; each subflow
    re-enters the version the session pinned for it."""
    pinned = _pinned_versions(session)
    top = engine.start(_definition(session), _base_facts(session.ticket, session.application))
    # [subflow node id, version, definition, state] per open subflow, innermost last.
    frames: list[list[Any]] = []
    for record in records:
        version_id = record.version_id or session.version_id
        for _ in range(_MAX_AUTOMATIC_STEPS):
            active = frames[-1][1].pk if frames else session.version_id
            if version_id == active:
                break
            outer = [frame[1].pk for frame in frames[:-1]] + [session.version_id]
            if frames and version_id in outer:
                frames.pop()  # the subflow's playbook ended; this record is its node's
                continue
            definition, state = (
                (frames[-1][2], frames[-1][3])
                if frames
                else (
                    _definition(session),
                    top,
                )
            )
            node = definition.node(state.node)
            if not isinstance(node, SubflowNode):
                raise SessionError("The earlier steps cannot be replayed; carry on from here.")
            version = pinned.get(node.playbook) or playbook_version_current(node.playbook)
            sub_definition = playbook_definition(version)
            frames.append(
                [node.id, version, sub_definition, engine.start(sub_definition, dict(state.facts))]
            )
        definition, state = (
            (frames[-1][2], frames[-1][3]) if frames else (_definition(session), top)
        )
        state = engine.step(
            definition,
            state,
            record.branch,
            facts=record.facts,
            named_causes=tuple(record.named_causes),
        )
        if frames:
            frames[-1][3] = state
        else:
            top = state
    result = top.as_dict()
    if frames:
        result[SUBFLOWS] = [
            {
                "node": node_id,
                "playbook": version.playbook.slug,
                "version": version.pk,
                "state": state.as_dict(),
            }
            for node_id, version, _, state in frames
        ]
    return result


def _pinned_versions(session: GuidedSession) -> dict[str, PlaybookVersion]:
    """The version the session pinned for each sub-playbook it entered: from its open
    subflows and from every step recorded in one (superseded ones too)."""
    pinned: dict[str, PlaybookVersion] = {}
    for frame in session.state.get(SUBFLOWS) or []:
        pinned[frame["playbook"]] = _version(frame["version"])
    recorded = (
        session.steps.exclude(version=None)
        .exclude(version_id=session.version_id)
        .select_related("version__playbook")
        .order_by("sequence")
    )
    for record in recorded:
        pinned.setdefault(record.version.playbook.slug, record.version)
    return pinned


def session_resume(*, actor: Staff, ticket: Ticket) -> GuidedSession:
    """The ticket's active session, to carry on where it was left. Raises
    PermissionDenied, Http404 (out of scope, or no active session)."""
    _require(actor, ticket)
    session = (
        GuidedSession.objects.select_related("version__playbook", "ticket")
        .filter(ticket=ticket, status=SessionStatus.ACTIVE)
        .first()
    )
    if session is None:
        raise Http404("No active guided session on this ticket.")
    return session


def session_abandon(*, actor: Staff, session: GuidedSession, reason: str = "") -> GuidedSession:
    """Stops the session without an outcome for the ticket (the ticket stays as it is).
    Side effects: status abandoned, a session.step event. Raises PermissionDenied, Http404,
    SessionError (already ended)."""
    _require(actor, session.ticket)
    _require_active(session)
    with transaction.atomic():
        session.status = SessionStatus.ABANDONED
        session.ended_at = clock.now()
        session.outcome = "abandoned"
        session.save(update_fields=["status", "ended_at", "outcome"])
        ticket_event_record(
            ticket=session.ticket,
            kind=EventKind.SESSION_STEP,
            actor=actor,
            payload=_payload(session, "abandoned", outcome="abandoned"),
        )
    return session


def session_steps(session: GuidedSession, *, current_only: bool = True) -> list[StepRecord]:
    steps = session.steps.all().order_by("sequence")
    if current_only:
        steps = steps.filter(superseded_at__isnull=True)
    return list(steps)


def _end(session: GuidedSession, actor: Staff) -> None:
    """Ends the session at its end node: resolves or escalates the ticket with the outcome
    and root causes; an escalation keeps its handoff packet."""
    definition = _definition(session)
    state = session_state(session)
    end = definition.node(state.node)
    steps = session_steps(session)
    packet = runner.handoff(definition, state, steps)
    outcome, causes = end.outcome, list(state.root_causes)
    escalation = outcome in ESCALATION_OUTCOMES
    with transaction.atomic():
        ticket = Ticket.objects.get(pk=session.ticket_id)
        try:
            if escalation:
                tier = Tier.SECURITY if outcome == "escalated_security" else Tier.L2
                ticket_escalate(
                    actor=actor,
                    ticket=ticket,
                    reason=f"Guided session ({end.queue}): {end.next_step}",
                    expected_version=None,
                    to_tier=tier,
                )
                # The escalation service keeps status and tier; the session's findings
                # belong on the ticket as well, for the next queue and for reporting.
                Ticket.objects.filter(pk=ticket.pk).update(
                    outcome=outcome, root_causes=causes, version=F("version") + 1
                )
            else:
                ticket_resolve(
                    actor=actor,
                    ticket=ticket,
                    outcome=outcome,
                    root_causes=causes,
                    expected_version=None,
                    note=f"Guided session {session.pk}: {end.title}",
                )
        except TicketError as exc:
            # The ticket moved on by hand meanwhile (already resolved or escalated): the
            # session still ends, and its findings stay on the session and in the trail.
            logger.info("session %s ended on ticket %s: %s", session.pk, ticket.pk, exc)
        session.status = SessionStatus.ENDED
        session.ended_at = clock.now()
        session.outcome = outcome
        session.root_causes = causes
        session.handoff = packet if escalation else None
        session.save(update_fields=["status", "ended_at", "outcome", "root_causes", "handoff"])
        ticket_event_record(
            ticket=ticket,
            kind=EventKind.SESSION_STEP,
            actor=actor,
            payload=_payload(
                session,
                "ended",
                node=end.id,
                outcome=outcome,
                root_causes=causes,
                handoff=packet if escalation else None,
            ),
        )
        session.ticket.refresh_from_db()
