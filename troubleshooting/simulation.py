"""Working a case with an automated caller, for simulate_case: the same guided-session
services the wizard uses, with a driver that takes the end user's part from a Caller.

The Caller is the only thing that knows the end user's side (their device, their inbox);
the simulator supplies one (the simulate_case command wires authsim's caller in). The
engine and checks get nothing from it but the answers and the effects of its actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth.hashers import make_password

from enrollment import services as recovery
from enrollment.enums import VerificationStatus
from enrollment.mfa import SignInAttempt, get_mfa_service
from enrollment.models import ApprovalRequest, EndUser, IdentityVerification
from enrollment.services.identity import phone_numbers_of_record
from helpdesk.enums import Channel
from helpdesk.models import Staff, Ticket
from helpdesk.roles import Role
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.tickets import ticket_open
from troubleshooting import engine, runner
from troubleshooting.actions import ACTIONS
from troubleshooting.models import GuidedSession
from troubleshooting.schema import ActionNode, InstructNode, QuestionNode, VerifyNode
from troubleshooting.selectors import playbook_version_for_complaint
from troubleshooting.services import playbook_sync_from_files
from troubleshooting.sessions import (
    SessionDriver,
    action_devices,
    attempt_result,
    session_advance,
    session_start,
    session_steps,
)
from troubleshooting.sessions.errors import Waiting


class Caller(Protocol):
    """The end user on the phone. May also have `tell(item) -> str`: what they read out
    when an action asks for it (troubleshooting.actions.CALLER_INPUTS); without it they
    tell nothing."""

    def answer(self, fact: str) -> bool | str: ...

    def perform(self, action: str) -> tuple[bool, str]: ...

    def sign_in(self, *, application: str | None, factor: str) -> SignInAttempt: ...


class CallerDriver(SessionDriver):
    """The wizard's driver with the caller's answers and actions automated; recovery
    actions still run as the technician, identity is verified by a callback to a number
    of record, or a supervisor's approval when there is none."""

    def __init__(self, session: GuidedSession, actor: Staff, *, caller: Caller, supervisor: Staff):
        super().__init__(session, actor)
        self.caller = caller
        self.supervisor = supervisor
        self.bypass_code: str | None = None

    def answer(self, node: QuestionNode, state: engine.SessionState) -> bool | str:
        return self.caller.answer(node.fact)

    def instruct(self, node: InstructNode, state: engine.SessionState) -> runner.NodeResult:
        ok, message = self.caller.perform(node.caller_action)
        return runner.NodeResult(engine.instruct_branch(ok), evidence={"caller_said": message})

    def action(self, node: ActionNode, state: engine.SessionState) -> runner.NodeResult:
        spec = ACTIONS.get(node.action)
        if spec is not None and spec.asks:
            tell = getattr(self.caller, "tell", None)
            told = tell(spec.asks[0]) if tell else ""
            if not told:
                # Nothing to read out (no token in hand, no phone): the action cannot run.
                return runner.NodeResult(
                    "blocked", evidence={"refused": f"The caller cannot tell {spec.asks[0]}."}
                )
            self.inputs[spec.asks[0]] = told
        if node.action == "resync_token":
            # Two consecutive codes read off the token or the app, as the card asks for.
            tell = getattr(self.caller, "tell", None)
            for item in ("first_code", "second_code"):
                self.inputs[item] = tell(item) if tell else ""
            if not all(self.inputs[item] for item in ("first_code", "second_code")):
                return runner.NodeResult(
                    "blocked", evidence={"refused": "The caller cannot read out two codes."}
                )
        if node.action == "mark_device_lost":
            # The caller names the device they lost; the technician picks it from the list.
            tell = getattr(self.caller, "tell", None)
            name = tell("lost_device") if tell else ""
            user = EndUser.objects.get(pk=self.end_user.pk)
            chosen = next((d for d in action_devices(user) if d.name == name), None)
            self.inputs["device_id"] = str(chosen.pk) if chosen else ""
        result = super().action(node, state)
        if self.revealed_code is not None:
            # Read out once to the caller, who types it at the next sign-in.
            self.bypass_code, self.revealed_code = self.revealed_code, None
        return result

    def _await_second_approval(self, node: ActionNode, reason: str) -> None:
        """The simulated supervisor decides a privileged user's action at once, as the
        approvals queue would, so the action runs instead of the session waiting."""
        try:
            super()._await_second_approval(node, reason)
        except Waiting as waiting:
            approval = ApprovalRequest.objects.get(pk=waiting.pending["approval"])
            recovery.approval_decide(
                actor=self.supervisor, approval=approval, approve=True, reason="Known to me"
            )

    def verify_identity(self, node: ActionNode) -> runner.NodeResult:
        user = EndUser.objects.get(pk=self.end_user.pk)
        numbers = phone_numbers_of_record(user)
        if numbers:
            verification = recovery.identity_callback_attest(
                actor=self.actor, ticket=self.ticket, phone_number=numbers[0], confirmed=True
            )
            return _verified("callback", verification.pk)
        approval = recovery.approval_request_create(
            actor=self.actor, ticket=self.ticket, kind="identity", reason="No number of record"
        )
        recovery.approval_decide(
            actor=self.supervisor, approval=approval, approve=True, reason="Known to me"
        )
        current = recovery.identity_current(self.ticket)
        return _verified("supervisor", current.pk if current else None)

    def verify(self, node: VerifyNode, state: engine.SessionState) -> runner.NodeResult:
        application = node.application or self.session.application or None
        if self.bypass_code is not None:
            code, self.bypass_code = self.bypass_code, None
            attempt = get_mfa_service().sign_in(
                end_user_id=self.end_user.pk, application=application, passcode=code
            )
        else:
            attempt = self.caller.sign_in(application=application, factor=node.factor)
        return attempt_result(node, attempt)


def _verified(method: str, verification_id: int | None) -> runner.NodeResult:
    return runner.NodeResult(
        "verified",
        facts={"identity_verified_by": method},
        evidence={"method": method, "verification": verification_id},
    )


@dataclass(frozen=True)
class SimulationStaff:
    technician: Staff
    supervisor: Staff


def simulation_staff() -> SimulationStaff:
    """The technician who works simulated cases and the supervisor who approves an
    identity when there is no number of record (created once, unable to sign in)."""

    def get(username: str, role: str) -> Staff:
        staff, _ = Staff.objects.get_or_create(
            username=username,
            defaults={"role": role, "password": make_password(None)},
        )
        return staff

    return SimulationStaff(
        technician=get("simulate-case.technician", Role.HELPDESK),
        supervisor=get("simulate-case.supervisor", Role.SUPERVISOR),
    )


def ensure_playbooks(complaint: str) -> None:
    """Publishes the shipped playbooks when none serves the complaint yet."""
    if playbook_version_for_complaint(complaint) is None:
        playbook_sync_from_files()


def work_case(
    *,
    scenario_id: str,
    complaint: str,
    end_user: EndUser,
    application: str | None,
    caller: Caller,
    staff: SimulationStaff | None = None,
    max_steps: int = 400,
) -> dict[str, Any]:
    """Opens a ticket, works it through a guided session to an end node, and returns the
    simulate_case report for it (scenarios.md). Raises SessionError / RuntimeError when
    the session cannot reach an end."""
    staff = staff or simulation_staff()
    ensure_playbooks(complaint)
    ticket = ticket_open(
        actor=staff.technician,
        end_user=end_user,
        subject=f"Simulated case {scenario_id}",
        category=complaint,
        channel=Channel.PHONE,
    )
    session = session_start(actor=staff.technician, ticket=ticket, application=application or "")
    driver = CallerDriver(session, staff.technician, caller=caller, supervisor=staff.supervisor)
    for _ in range(max_steps):
        if not session.is_active:
            break
        session_advance(actor=staff.technician, session=session, driver=driver)
    else:
        raise RuntimeError(f"no end node after {max_steps} steps")
    state = engine.SessionState.from_dict(session.state)
    ticket = Ticket.objects.get(pk=ticket.pk)
    # From the ticket's own verifications, so one made inside a subflow counts too.
    identity = (
        IdentityVerification.objects.filter(ticket=ticket, status=VerificationStatus.VERIFIED)
        .order_by("verified_at", "pk")
        .values_list("method", flat=True)
        .first()
    )
    steps = session_steps(session)
    return {
        "scenario": scenario_id,
        "ticket": ticket.pk,
        "playbook": session.version.playbook.slug,
        "playbook_version": str(session.version.number),
        "steps": [{"node": s.node, "kind": s.kind, "result": s.branch} for s in steps],
        "root_causes": list(session.root_causes),
        "outcome": session.outcome,
        "verified_sign_in": state.verified_sign_in,
        "bypass_issued": any(
            s.kind == "action" and s.branch == "done" and _is_bypass(session, s) for s in steps
        ),
        "identity_verified_by": identity,
        "audit_events": ticket.events.count(),
        "audit_chain_ok": audit_chain_verify().ok,
    }


def _is_bypass(session: GuidedSession, step) -> bool:
    from troubleshooting.selectors import playbook_definition

    # A step inside a subflow belongs to the version that subflow pinned.
    node = playbook_definition(step.version or session.version).node(step.node)
    return getattr(node, "action", None) == "issue_bypass_code"
