"""Guided sessions through their services: pinning, automatic checks, answers, a verify
that waits for the end user, going back, ending, escalating, abandoning, access."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from authsim import caller
from enrollment import clock
from enrollment.labels import finding, words
from helpdesk.enums import Category, Channel, EventKind
from helpdesk.models import Ticket
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from helpdesk.templatetags.event_summaries import event_summary
from tests.authsim.helpers import load
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, GroupFactory
from troubleshooting.models import GuidedSession, StepRecord
from troubleshooting.selectors import playbook_definition, playbook_version_current
from troubleshooting.services import playbook_sync_from_files
from troubleshooting.sessions import (
    SessionDriver,
    SessionError,
    session_abandon,
    session_advance,
    session_go_back,
    session_poll,
    session_resume,
    session_start,
    session_steps,
)

# The services commit and the simulator sends after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

AUTOMATIC_START = [
    ("status", "active"),
    ("fraud", "none"),
    ("policy", "enforced"),
    ("authenticators", "active"),
    ("devices", "compatible"),
    ("device_health", "healthy"),
]


@pytest.fixture
def case():
    playbook_sync_from_files()
    _scenario, user = load("push-notifications-disabled")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    ticket = ticket_open(
        actor=technician,
        end_user=user,
        subject="No prompt",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    return technician, ticket, user


def taken(session) -> list[tuple[str, str]]:
    return [(s.node, s.branch) for s in session_steps(session)]


def time_out_the_push(session, technician):
    clock.advance(timedelta(minutes=10))
    assert session_poll(actor=technician, session=session) is False


def test_start_pins_the_current_version_and_runs_the_checks(case):
    technician, ticket, _ = case

    session = session_start(actor=technician, ticket=ticket)

    assert session.version == playbook_version_current("missing_prompt")
    assert taken(session) == AUTOMATIC_START
    assert session.state["node"] == "test_sign_in"
    steps = session_steps(session)
    assert steps[0].evidence != {}
    assert steps[0].actor == technician
    events = list(ticket.events.filter(kind=EventKind.SESSION_STEP).order_by("seq"))
    assert [e.payload["event"] for e in events] == ["started"] + ["step"] * 6
    assert [e.payload.get("node") for e in events[1:]] == [n for n, _ in AUTOMATIC_START]
    # Each step carries what a person reads on the trail: the titles the card showed, the
    # check it ran, the title of where it led; the line says them, never the ids.
    definition = playbook_definition(session.version)
    first = events[1].payload
    node = definition.node(first["node"])
    assert (first["title"], first["check"]) == (node.title, node.check)
    assert first["target_title"] == definition.node(first["target"]).title
    assert event_summary(EventKind.SESSION_STEP, first).startswith(
        f"Step 1 ({words(first['playbook'])} v{first['version']}) automatic check "
        f"“{node.title}”: {finding(node.check, first['branch'])} → {first['target_title']}"
    )


def test_a_second_active_session_is_refused(case):
    technician, ticket, _ = case
    session_start(actor=technician, ticket=ticket)

    with pytest.raises(SessionError, match="already has an active guided session"):
        session_start(actor=technician, ticket=ticket)


def test_start_needs_work_tickets_and_scope(case):
    _technician, ticket, _ = case
    auditor = make_staff(Role.READ_ONLY, username="rita.read")
    outsider = make_staff(Role.HELPDESK, username="otto.out")
    AdministrativeUnitFactory(
        name="Elsewhere", groups=[GroupFactory(name="Else")], staff=[outsider]
    )

    with pytest.raises(PermissionDenied):
        session_start(actor=auditor, ticket=ticket)
    with pytest.raises(Http404):
        session_start(actor=outsider, ticket=ticket)
    assert GuidedSession.objects.count() == 0


def test_a_verify_waits_for_the_push_then_the_case_is_fixed_and_resolved(case):
    technician, ticket, user = case
    session = session_start(actor=technician, ticket=ticket)

    session_advance(actor=technician, session=session, node="test_sign_in")
    assert session.state["pending"]["kind"] == "verify"
    assert session_poll(actor=technician, session=session) is True
    time_out_the_push(session, technician)
    assert session.state["node"] == "ask_notifications"

    session_advance(actor=technician, session=session, node="ask_notifications", value="false")
    answered = session_steps(session)[-1]
    assert (answered.options, answered.facts, answered.prompt.startswith("In the phone")) == (
        [
            {"branch": "true", "label": "Yes, they are on"},
            {"branch": "false", "label": "No, they are off"},
        ],
        {"notifications_enabled": False},
        True,
    )
    assert caller.perform("enable_notifications", end_user_id=user.pk).ok
    session_advance(actor=technician, session=session, node="enable_notifications", value="done")
    session_advance(actor=technician, session=session, node=session.state["node"])
    assert session_poll(actor=technician, session=session) is True
    assert caller.perform("approve_push", end_user_id=user.pk).ok
    assert session_poll(actor=technician, session=session) is False

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (session.status, session.outcome, session.root_causes) == (
        "ended",
        "prompt_restored",
        ["push_notifications_disabled"],
    )
    assert (ticket.status, ticket.outcome, ticket.root_causes) == (
        "resolved",
        "prompt_restored",
        ["push_notifications_disabled"],
    )
    last = ticket.events.order_by("-seq").first()
    assert (last.kind, last.payload["event"], last.payload["outcome"]) == (
        EventKind.SESSION_STEP,
        "ended",
        "prompt_restored",
    )
    steps = StepRecord.objects.filter(session=session)
    step_events = ticket.events.filter(kind=EventKind.SESSION_STEP, payload__event="step")
    assert steps.count() == step_events.count()


def test_a_stale_answer_is_refused(case):
    technician, ticket, _ = case
    session = session_start(actor=technician, ticket=ticket)

    with pytest.raises(SessionError, match="moved on"):
        session_advance(actor=technician, session=session, node="status", value="true")


def test_going_back_supersedes_later_steps_and_keeps_them(case):
    technician, ticket, _ = case
    session = session_start(actor=technician, ticket=ticket)
    session_advance(actor=technician, session=session, node="test_sign_in")
    time_out_the_push(session, technician)
    question = next(s for s in session_steps(session) if s.node == "delivery").sequence + 1
    session_advance(actor=technician, session=session, node="ask_notifications", value="true")
    assert session.state["node"] == "reinstall"
    answered = session_steps(session)[-1]

    session_go_back(actor=technician, session=session, sequence=answered.sequence)

    assert answered.sequence == question
    assert session.state["node"] == "ask_notifications"
    assert "notifications_enabled" not in session.state["facts"]
    superseded = StepRecord.objects.get(pk=answered.pk)
    assert (superseded.superseded_at is not None, superseded.branch) == (True, "true")
    assert [s.node for s in session_steps(session)][-1] == "delivery"
    back = ticket.events.order_by("-seq").first()
    assert (back.payload["event"], back.payload["superseded_from"]) == ("back", question)
    session_advance(actor=technician, session=session, node="ask_notifications", value="false")
    assert session.state["node"] == "enable_notifications"


def test_resume_and_abandon(case):
    technician, ticket, _ = case
    started = session_start(actor=technician, ticket=ticket)

    assert session_resume(actor=technician, ticket=ticket) == started
    session_abandon(actor=technician, session=started)

    assert (started.status, started.outcome) == ("abandoned", "abandoned")
    assert Ticket.objects.get(pk=ticket.pk).status == "new"
    with pytest.raises(Http404):
        session_resume(actor=technician, ticket=ticket)
    with pytest.raises(SessionError, match="ended"):
        session_advance(actor=technician, session=started)
    session_start(actor=technician, ticket=ticket)  # a new one may start


def test_an_action_refused_by_a_guard_takes_the_blocked_branch(case):
    technician, ticket, _ = case
    session = session_start(actor=technician, ticket=ticket)
    driver = SessionDriver(session, technician)
    from troubleshooting.schema import ActionNode

    node = ActionNode(
        id="bypass",
        kind="action",
        title="Bypass",
        action="issue_bypass_code",
        outcomes={"done": "x", "blocked": "y", "error": "z"},
    )

    result = driver.action(node, None)

    assert result.branch == "blocked"
    assert "identity" in result.evidence["refused"].lower()


def _action_node(node_id: str, title: str, action: str):
    from troubleshooting.schema import ActionNode

    return ActionNode(
        id=node_id,
        kind="action",
        title=title,
        action=action,
        outcomes={"done": "x", "blocked": "y", "error": "z"},
    )


def _bypass_node():
    return _action_node("bypass", "Bypass", "issue_bypass_code")


def _unlock_node():
    return _action_node("unlock", "Unlock", "unlock_user")


def _verify_by_callback(technician, ticket, user) -> None:
    from enrollment.services.identity import identity_callback_attest, phone_numbers_of_record

    identity_callback_attest(
        actor=technician,
        ticket=ticket,
        phone_number=phone_numbers_of_record(user)[0],
        confirmed=True,
    )


def test_the_engine_refuses_recovery_without_identity_before_any_service_runs(case):
    technician, ticket, user = case
    session = session_start(actor=technician, ticket=ticket)
    events_before = ticket.events.count()

    result = SessionDriver(session, technician).action(_bypass_node(), None)

    assert result.branch == "blocked"
    assert result.evidence == {
        "refused": "The caller's identity has not been verified on this ticket, so no "
        "recovery action can run."
    }
    # Refused by the engine itself: no service was reached, so no bypass code and no
    # recovery event of any kind.
    assert user.bypass_codes.count() == 0
    assert ticket.events.count() == events_before


def test_the_engine_gives_no_further_bypass_code_to_a_user_already_in_bypass(case):
    technician, ticket, user = case
    session = session_start(actor=technician, ticket=ticket)
    _verify_by_callback(technician, ticket, user)
    user.status = "bypass"
    user.save(update_fields=["status"])

    result = SessionDriver(session, technician).action(_bypass_node(), None)

    assert result.branch == "blocked"
    assert "already in bypass status" in result.evidence["refused"]
    assert user.bypass_codes.count() == 0


def test_an_escalation_escalates_the_ticket_with_the_handoff(case):
    technician, ticket, user = case
    user.status = "disabled"
    user.save(update_fields=["status"])

    session = session_start(actor=technician, ticket=ticket)

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert session.status == "ended"
    assert session.outcome.startswith("escalated")
    assert (ticket.status, ticket.outcome) == ("escalated", session.outcome)
    assert session.handoff["path"][0] == {
        "node": "status",
        "title": "Directory status",
        "branch": "disabled",
    }
    assert ticket.events.order_by("-seq").first().payload["handoff"] == session.handoff
    # The handoff says what the evidence points at and why, for the next queue.
    assert session.handoff["root_causes"] == ["user_disabled"]
    assert session.handoff["findings"]["suspected"] == [
        {
            "cause": "user_disabled",
            "title": "The account is disabled in the directory",
            "evidence": {"user_status": "disabled"},
        }
    ]


def test_checks_after_an_action_read_the_end_user_as_the_action_left_them(case):
    from troubleshooting.checks import run_check

    technician, ticket, user = case
    session = session_start(actor=technician, ticket=ticket)
    user.status = "locked_out"
    user.save(update_fields=["status"])
    driver = SessionDriver(session, technician)  # loads the end user: locked out
    assert run_check("user_status", driver.context).outcome == "locked_out"
    _verify_by_callback(technician, ticket, user)

    assert driver.action(_unlock_node(), None).branch == "done"
    # The same driver's next check, in the same request: the row as the unlock left it.
    assert run_check("user_status", driver.context).outcome == "active"


def test_a_privileged_users_action_waits_for_a_second_approver_then_runs(case):
    from enrollment.models import ApprovalRequest
    from enrollment.services import approval_decide
    from troubleshooting.sessions.errors import Waiting

    technician, ticket, user = case
    user.status, user.privileged = "locked_out", True
    user.save(update_fields=["status", "privileged"])
    session = session_start(actor=technician, ticket=ticket)
    _verify_by_callback(technician, ticket, user)

    with pytest.raises(Waiting) as waiting:
        SessionDriver(session, technician).action(_unlock_node(), None)

    assert waiting.value.pending["kind"] == "action_approval"
    approval = ApprovalRequest.objects.get(pk=waiting.value.pending["approval"])
    assert (approval.kind, approval.action, approval.status) == (
        "action",
        "end_user_unlock",
        "pending",
    )
    user.refresh_from_db()
    assert user.status == "locked_out"
    # Asked again while the request is pending: the same request, no second one.
    with pytest.raises(Waiting):
        SessionDriver(session, technician).action(_unlock_node(), None)
    assert ApprovalRequest.objects.filter(ticket=ticket, kind="action").count() == 1

    approval_decide(
        actor=make_staff(Role.SUPERVISOR, username="sue.super"),
        approval=approval,
        approve=True,
        reason="Known to me",
    )
    assert SessionDriver(session, technician).action(_unlock_node(), None).branch == "done"
    user.refresh_from_db()
    assert user.status == "active"


def test_the_card_waits_on_the_approval_and_comes_back_when_it_is_decided(case):
    from enrollment.services import approval_decide, approval_request_create

    technician, ticket, user = case
    user.privileged = True
    user.save(update_fields=["privileged"])
    session = session_start(actor=technician, ticket=ticket)
    _verify_by_callback(technician, ticket, user)
    approval = approval_request_create(
        actor=technician, ticket=ticket, kind="action", action="end_user_unlock", reason="Locked"
    )
    at = session.state["node"]
    session.state = dict(
        session.state, pending={"kind": "action_approval", "approval": approval.pk, "node": at}
    )
    session.save(update_fields=["state"])

    assert session_poll(actor=technician, session=session) is True
    approval_decide(
        actor=make_staff(Role.SUPERVISOR, username="sue.super"),
        approval=approval,
        approve=True,
        reason="Known to me",
    )
    assert session_poll(actor=technician, session=session) is False
    session.refresh_from_db()
    assert "pending" not in session.state
    # Nothing ran by itself: the technician takes the step again.
    assert session.state["node"] == at
