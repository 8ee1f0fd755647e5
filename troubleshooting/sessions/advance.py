"""Submitting the current step (refusing a stale one under the row lock), and polling
what the session waits for from the end user."""

from __future__ import annotations

from typing import Any

from enrollment import services as recovery
from enrollment.enums import ApprovalStatus, VerificationStatus
from enrollment.mfa import MFAServiceError, get_mfa_service
from enrollment.models import ApprovalRequest, IdentityVerification
from helpdesk.models import Staff
from troubleshooting import runner
from troubleshooting.models import GuidedSession
from troubleshooting.sessions.access import _last_sequence, _locked
from troubleshooting.sessions.driver import SessionDriver, _identity_verified, attempt_result
from troubleshooting.sessions.errors import STALE_NODE, STALE_STEP, SessionError
from troubleshooting.sessions.flow import _advance_once
from troubleshooting.sessions.frames import session_frame


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
    error: SessionError | None = None
    with _locked(actor, session):
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


def session_poll(*, actor: Staff, session: GuidedSession) -> bool:
    """Asks whether the end user answered what the session waits for (a sign-in push, an
    identity push, a supervisor's approval). Returns True while still waiting.

    Side effects: when concluded, the step is recorded and the session moves on (as
    session_advance). Raises PermissionDenied, Http404, SessionError."""
    with _locked(actor, session):
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
        if concluded is APPROVED:
            return False
        driver = SessionDriver(session, actor)
        driver.concluded = concluded
        _advance_once(session, actor, driver, session_frame(session))
    return False


# An action's second approval came in: the session stays on the action for the technician.
APPROVED = runner.NodeResult("approved")

# What the caller can tell the technician while a test sign-in waits, as the verify node's
# branch and the reason the service would have given (taken as evidence, like the service's).
CALLER_REPORTS: dict[str, tuple[str, str]] = {
    "saw_nothing": ("timeout", "no_response"),
    "denied": ("denied", "user_denied"),
}


def session_caller_report(*, actor: Staff, session: GuidedSession, report: str) -> None:
    """Ends a test sign-in's wait with what the caller says: they saw nothing (the verify
    node's `timeout` branch, reason no_response) or they denied it (`denied`, user_denied),
    without waiting out the service's timeout. The engine takes it as evidence.

    Side effects: the step is recorded (evidence names the caller's report) and the session
    moves on, as session_poll. Raises PermissionDenied, Http404, SessionError (nothing is
    waiting on a sign-in, an unknown report)."""
    if report not in CALLER_REPORTS:
        raise SessionError("Choose what the caller saw.")
    with _locked(actor, session):
        pending = session.state.get("pending")
        if not pending or pending.get("kind") != "verify":
            raise SessionError("No test sign-in is waiting now; the card has moved on.")
        frame = session_frame(session)
        node = frame.definition.node(pending["node"])
        branch, reason = CALLER_REPORTS[report]
        if branch not in node.outcomes:
            branch = "denied" if "denied" in node.outcomes else "error"
        concluded = runner.NodeResult(
            branch,
            facts={"verify_reason": reason, "verify_factor": pending.get("factor")},
            evidence={
                "attempt": pending.get("attempt"),
                "caller_reported": report,
                "reason": reason,
                "factor": pending.get("factor"),
            },
        )
        session.state = {key: value for key, value in session.state.items() if key != "pending"}
        GuidedSession.objects.filter(pk=session.pk).update(state=session.state)
        driver = SessionDriver(session, actor)
        driver.concluded = concluded
        _advance_once(session, actor, driver, session_frame(session))


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
    if kind == "action_approval":
        approval = ApprovalRequest.objects.get(pk=pending["approval"], ticket=session.ticket)
        if approval.status == ApprovalStatus.PENDING:
            return None
        if approval.status == ApprovalStatus.APPROVED:
            return APPROVED  # the card offers the action again; it now passes its guard
        why = approval.decision_reason or "no reason given"
        return runner.NodeResult(
            "blocked", evidence={"refused": f"The second approver declined it: {why}."}
        )
    if kind == "identity_supervisor":
        approval = ApprovalRequest.objects.get(pk=pending["approval"], ticket=session.ticket)
        if approval.status == ApprovalStatus.PENDING:
            return None
        if approval.status == ApprovalStatus.DENIED:
            return runner.NodeResult("not_verified", evidence={"supervisor": "denied"})
        current = recovery.identity_current(session.ticket)
        return _identity_verified("supervisor", current.pk if current else None)
    raise SessionError(f"Unknown wait {kind!r}.")
