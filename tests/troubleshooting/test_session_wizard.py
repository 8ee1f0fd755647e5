"""The wizard's harder corners over HTTP: subflows inside a session, action inputs, stale
submissions from a second technician, readable evidence, a failed verify after a fix, and
the KB links on a card. Each test publishes its own small playbooks so it does not depend
on the shipped ones."""

import re

import pytest
import yaml
from django.db import connection
from django.urls import reverse

from authsim import caller
from enrollment.models import Device
from helpdesk.enums import Category, Channel, EventKind, TicketStatus
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.authsim.helpers import load
from tests.conftest import make_staff
from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.models import GuidedSession, StepRecord
from troubleshooting.selectors import playbook_version_current
from troubleshooting.services import playbook_sync_from_files
from troubleshooting.sessions import STALE_NODE, STALE_STEP
from troubleshooting.views import readable_evidence

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


def inner() -> dict:
    """The mini playbook (status → notifications? → enable → verify) as a sub-playbook."""
    data = clean_playbook()
    data.update(id="inner", complaint="enrollment_failure", title="Inner")
    node(data, "ask")["kb"] = ["push-troubleshooting", "clock-and-time-settings"]
    return data


def outer() -> dict:
    return {
        "id": "outer",
        "complaint": "missing_prompt",
        "title": "Outer",
        "start": "run_inner",
        "nodes": [
            {
                "id": "run_inner",
                "kind": "subflow",
                "title": "Work through the inner playbook",
                "playbook": "inner",
                "outcomes": {"prompt_restored": "restored"},
                "otherwise": "handoff",
            },
            {"id": "restored", "kind": "end", "title": "Restored", "outcome": "prompt_restored"},
            {
                "id": "handoff",
                "kind": "end",
                "title": "Hand off",
                "outcome": "escalated_tier2",
                "queue": "tier2",
                "next_step": "Read the inner playbook's findings.",
            },
        ],
    }


def action_playbook(action: str, guards: list[str]) -> dict:
    return {
        "id": f"run_{action}",
        "complaint": "missing_prompt",
        "title": f"Run {action}",
        "start": "act",
        "nodes": [
            {
                "id": "act",
                "kind": "action",
                "title": f"Run {action}",
                "action": action,
                "guards": guards,
                "outcomes": {"done": "after", "blocked": "refused", "error": "refused"},
            },
            {
                "id": "after",
                "kind": "end",
                "title": "Hand over",
                "outcome": "escalated_tier2",
                "queue": "tier2",
                "next_step": "Follow up the action.",
            },
            {
                "id": "refused",
                "kind": "end",
                "title": "Refused",
                "outcome": "escalated_tier2",
                "queue": "tier2",
                "next_step": "See why it was refused.",
            },
        ],
    }


def publish(tmp_path, *playbooks: dict) -> None:
    for data in playbooks:
        (tmp_path / f"{data['id']}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    results = playbook_sync_from_files([tmp_path])
    assert all(not getattr(result, "findings", None) for result in results), results


def open_ticket(technician, user):
    return ticket_open(
        actor=technician,
        end_user=user,
        subject="No prompt",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )


def page(ticket):
    return reverse("troubleshooting:ticket", kwargs={"ticket_pk": ticket.pk})


def advance_url(session):
    return reverse("troubleshooting:advance", kwargs={"pk": session.pk})


def poll_url(session):
    return reverse("troubleshooting:poll", kwargs={"pk": session.pk})


def start(client, ticket):
    response = client.post(
        reverse("troubleshooting:start", kwargs={"ticket_pk": ticket.pk}), {"application": ""}
    )
    assert response.status_code == 302
    return GuidedSession.objects.get(ticket=ticket)


def after_value(html: str) -> str:
    return re.search(r'name="after" value="(\d+)"', html).group(1)


def taken(session, **filters):
    return [
        (s.version.playbook.slug, s.node, s.branch)
        for s in session.steps.filter(**filters).select_related("version__playbook")
    ]


@pytest.fixture
def desk(client_for):
    _, user = load("push-notifications-disabled")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    return client_for(technician), technician, user


# --- Subflows ------------------------------------------------------------------------------------


def test_subflow_runs_inside_the_session_with_its_pinned_version(tmp_path, desk):
    client, technician, user = desk
    publish(tmp_path, inner(), outer())
    ticket = open_ticket(technician, user)

    session = start(client, ticket)

    inner_v = playbook_version_current("inner")
    outer_v = playbook_version_current("outer")
    assert session.version == outer_v
    assert session.state["subflows"][0]["version"] == inner_v.pk
    body = client.get(page(ticket)).content.decode()
    assert 'data-node="ask"' in body
    assert "Inside the sub-playbook <strong>Inner</strong>" in body
    assert taken(session) == [("inner", "status", "active")]

    after = after_value(body)
    client.post(advance_url(session), {"node": "ask", "value": "false", "after": after})
    assert caller.perform("enable_notifications", end_user_id=user.pk).ok
    client.post(advance_url(session), {"node": "fix", "value": "done"})
    client.post(advance_url(session), {"node": "verify"})
    assert caller.perform("approve_push", end_user_id=user.pk).ok
    assert client.get(poll_url(session), **HTMX).status_code == 286

    session.refresh_from_db()
    ticket.refresh_from_db()
    assert taken(session) == [
        ("inner", "status", "active"),
        ("inner", "ask", "false"),
        ("inner", "fix", "done"),
        ("inner", "verify", "success"),
        ("inner", "pick", "when:0"),
        ("outer", "run_inner", "prompt_restored"),
    ]
    subflow_step = session.steps.get(node="run_inner")
    assert subflow_step.evidence == {
        "playbook": "inner",
        "version": inner_v.number,
        "outcome": "prompt_restored",
        "root_causes": ["push_notifications_disabled"],
    }
    assert subflow_step.named_causes == ["push_notifications_disabled"]
    assert (session.status, session.outcome) == ("ended", "prompt_restored")
    assert session.root_causes == ["push_notifications_disabled"]
    assert (ticket.status, ticket.root_causes) == (
        TicketStatus.RESOLVED,
        ["push_notifications_disabled"],
    )
    step_events = [
        (e.payload["playbook"], e.payload.get("node"), e.payload.get("branch"))
        for e in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SESSION_STEP).order_by(
            "pk"
        )
        if e.payload["event"] == "step"
    ]
    assert step_events == [(slug, n, b) for slug, n, b in taken(session)]


def test_subflow_outcome_not_mapped_takes_otherwise_and_going_back_inside_it(tmp_path, desk):
    client, technician, user = desk
    publish(tmp_path, inner(), outer())
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    client.post(advance_url(session), {"node": "ask", "value": "false"})
    ask = session.steps.get(node="ask")

    # Back to the question inside the subflow: the frame is rebuilt from the records.
    client.post(
        reverse("troubleshooting:back", kwargs={"pk": session.pk}), {"sequence": ask.sequence}
    )
    session.refresh_from_db()
    assert session.state["subflows"][0]["state"]["node"] == "ask"
    client.post(advance_url(session), {"node": "ask", "value": "true"})

    session.refresh_from_db()
    assert taken(session, superseded_at__isnull=True) == [
        ("inner", "status", "active"),
        ("inner", "ask", "true"),
        ("outer", "run_inner", "otherwise"),
    ]
    assert (session.status, session.outcome) == ("ended", "escalated_tier2")
    assert session.handoff["path"][-1] == {
        "node": "run_inner",
        "title": "Work through the inner playbook",
        "branch": "otherwise",
    }
    assert session.handoff["answers"] == {"notifications_enabled": True}


# --- Verify fails after the fix ------------------------------------------------------------------


def test_verify_still_denied_after_the_fix_routes_to_escalation(tmp_path, desk):
    client, technician, user = desk
    publish(tmp_path, clean_playbook())
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    client.post(advance_url(session), {"node": "ask", "value": "false"})
    assert caller.perform("enable_notifications", end_user_id=user.pk).ok
    client.post(advance_url(session), {"node": "fix", "value": "done"})

    for _attempt in range(2):
        client.post(advance_url(session), {"node": "verify"})
        assert caller.perform("deny_push", end_user_id=user.pk).ok
        assert client.get(poll_url(session), **HTMX).status_code == 286

    session.refresh_from_db()
    ticket.refresh_from_db()
    assert taken(session) == [
        ("mini", "status", "active"),
        ("mini", "ask", "false"),
        ("mini", "fix", "done"),
        ("mini", "verify", "denied"),
        ("mini", "verify", "denied"),
    ]
    assert session.steps.get(sequence=4).evidence["result"] == "denied"
    assert session.state["path"][-1] == ["verify", "exhausted"]
    # The fix was never confirmed by a sign-in, so nothing is proved: the end names what the
    # evidence points at (the caller said notifications were off), and the handoff says that
    # fix was tried and still failed.
    assert (session.outcome, session.root_causes) == (
        "escalated_tier2",
        ["push_notifications_disabled"],
    )
    assert session.handoff["findings"]["tried"] == ["push_notifications_disabled"]
    assert ticket.status == TicketStatus.ESCALATED
    events = [
        e.payload
        for e in TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SESSION_STEP).order_by(
            "pk"
        )
    ]
    assert [(e["event"], e.get("node"), e.get("branch")) for e in events] == [
        ("started", None, None),
        ("step", "status", "active"),
        ("step", "ask", "false"),
        ("step", "fix", "done"),
        ("step", "verify", "denied"),
        ("step", "verify", "denied"),
        ("ended", "esc", None),
    ]
    assert events[-1]["outcome"] == "escalated_tier2"
    assert events[-1]["handoff"]["verified_sign_in"] is False


# --- Two technicians on one session --------------------------------------------------------------


def test_a_stale_submission_from_a_second_technician_is_refused(tmp_path, desk, client_for):
    client, technician, user = desk
    other = client_for(make_staff(Role.HELPDESK, username="otto.other"))
    publish(tmp_path, clean_playbook())
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    seen_by_other = other.get(page(ticket)).content.decode()
    seen_by_me = client.get(page(ticket)).content.decode()
    assert after_value(seen_by_other) == after_value(seen_by_me) == "1"

    client.post(advance_url(session), {"node": "ask", "value": "false", "after": "1"})
    response = other.post(
        advance_url(session), {"node": "ask", "value": "true", "after": "1"}, **HTMX
    )

    assert STALE_NODE in response.content.decode()
    assert 'data-node="fix"' in response.content.decode()
    assert taken(session) == [("mini", "status", "active"), ("mini", "ask", "false")]


def test_the_same_node_again_after_someone_else_went_back_is_still_stale(
    tmp_path, desk, client_for
):
    client, technician, user = desk
    other = client_for(make_staff(Role.HELPDESK, username="otto.other"))
    publish(tmp_path, clean_playbook())
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    client.post(advance_url(session), {"node": "ask", "value": "false", "after": "1"})
    seen_by_other = other.get(page(ticket)).content.decode()  # the instruct card, after=2
    assert after_value(seen_by_other) == "2"
    client.post(reverse("troubleshooting:back", kwargs={"pk": session.pk}), {"sequence": 2})
    client.post(advance_url(session), {"node": "ask", "value": "false", "after": "2"})

    # The other technician's card was for `fix` after step 2; the session is at `fix`
    # again, but after step 3: someone else recorded it, so it is not recorded twice.
    response = other.post(advance_url(session), {"node": "fix", "value": "done", "after": "2"})

    assert response.status_code == 302
    assert STALE_STEP in other.get(page(ticket)).content.decode()
    assert taken(session, superseded_at__isnull=True) == [
        ("mini", "status", "active"),
        ("mini", "ask", "false"),
    ]
    assert StepRecord.objects.filter(session=session, node="fix").count() == 0


# --- Action inputs -------------------------------------------------------------------------------


def test_mark_device_lost_asks_which_device_and_keeps_the_input_on_error(tmp_path, client_for):
    _, user = load("lost-device")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    client = client_for(technician)
    publish(
        tmp_path,
        action_playbook("mark_device_lost", ["capability:recovery_actions", "not_self", "reason"]),
    )
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    device = Device.objects.filter(end_user=user, lost_at__isnull=True).first()
    card = client.get(page(ticket)).content.decode()
    assert f'name="device_id" value="{device.pk}"' in card

    response = client.post(advance_url(session), {"node": "act", "reason": "Phone left in a taxi"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose the device the caller lost." in body
    assert 'value="Phone left in a taxi"' in body
    assert session.steps.count() == 0

    response = client.post(
        advance_url(session),
        {"node": "act", "reason": "Phone left in a taxi", "device_id": str(device.pk)},
    )

    device.refresh_from_db()
    assert response.status_code == 302
    assert device.lost_at is not None
    [step] = session.steps.all()
    assert (step.node, step.branch) == ("act", "done")
    assert step.evidence == {"result": f"{device.name} marked lost."}


def test_resync_token_needs_two_digit_codes_and_re_renders_what_was_entered(tmp_path, client_for):
    _, user = load("clock-skew")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    client = client_for(technician)
    publish(
        tmp_path,
        action_playbook(
            "resync_token",
            ["capability:recovery_actions", "not_self", "no_open_fraud", "reason"],
        ),
    )
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    assert 'name="first_code"' in client.get(page(ticket)).content.decode()

    response = client.post(
        advance_url(session), {"node": "act", "first_code": "12a456", "second_code": ""}, **HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter both codes the caller reads out, digits only." in body
    assert 'value="12a456"' in body

    response = client.post(
        advance_url(session),
        {"node": "act", "first_code": "000000", "second_code": "000001"},
        **HTMX,
    )

    body = response.content.decode()
    assert "could not match those two codes" in body
    assert 'value="000001"' in body
    assert session.steps.count() == 0
    session.refresh_from_db()
    assert session.status == "active"


# --- Evidence and KB links -----------------------------------------------------------------------


def test_readable_evidence_labels_lists_times_and_nesting():
    shown = readable_evidence(
        {
            "last_seen_at": "2026-11-30T10:15:00+00:00",
            "push_capable": False,
            "devices": [{"name": "Phone", "os_version": "17.4"}],
            "methods": ["push", "totp"],
            "note": None,
        }
    )

    assert [(item.label, item.kind) for item in shown] == [
        ("Last seen at", "time"),
        ("Push capable", "yes_no"),
        ("Devices", "list"),
        ("Methods", "list"),
        ("Note", "none"),
    ]
    assert shown[0].value.isoformat() == "2026-11-30T10:15:00+00:00"
    [device] = shown[2].value
    assert [(i.label, i.value) for i in device.value] == [("Name", "Phone"), ("OS version", "17.4")]
    assert [item.value for item in shown[3].value] == ["push", "totp"]


def test_card_shows_evidence_readably_and_kb_titles_as_links(tmp_path, desk):
    client, technician, user = desk
    publish(tmp_path, inner(), outer())
    ticket = open_ticket(technician, user)
    start(client, ticket)

    body = client.get(page(ticket)).content.decode()

    assert '<a href="/kb/push-troubleshooting/"' in body
    assert ">Push troubleshooting</a>" in body
    assert ">Clock and time settings</a>" in body
    assert "{&#x27;" not in body  # no dict printed raw
    assert '<dl class="guide-evidence">' in body


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks need PostgreSQL")
def test_concurrent_answers_to_one_node_record_one_step(tmp_path, desk, client_for):
    import threading

    from troubleshooting.sessions import SessionError, session_advance

    _, technician, user = desk
    other = make_staff(Role.HELPDESK, username="otto.other")
    publish(tmp_path, clean_playbook())
    ticket = open_ticket(technician, user)
    session = start(client_for(technician), ticket)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def answer(actor, value) -> None:
        try:
            mine = GuidedSession.objects.select_related("ticket", "version__playbook").get(
                pk=session.pk
            )
            barrier.wait()
            session_advance(actor=actor, session=mine, node="ask", value=value, after=1)
            with lock:
                outcomes.append("recorded")
        except SessionError as exc:
            with lock:
                outcomes.append(str(exc))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=answer, args=(technician, "false")),
        threading.Thread(target=answer, args=(other, "true")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(outcomes) == sorted(["recorded", STALE_NODE])
    assert StepRecord.objects.filter(session=session, node="ask").count() == 1


def test_bad_input_with_nobody_to_ask_takes_the_blocked_branch(tmp_path, client_for):
    from troubleshooting.sessions import SessionDriver, session_advance

    _, user = load("lost-device")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    publish(
        tmp_path,
        action_playbook("mark_device_lost", ["capability:recovery_actions", "not_self", "reason"]),
    )
    session = start(client_for(technician), open_ticket(technician, user))

    session_advance(
        actor=technician,
        session=session,
        driver=SessionDriver(session, technician, inputs={"device_id": "0"}),
    )

    [step] = session.steps.all()
    assert (step.node, step.branch) == ("act", "blocked")
    assert step.evidence == {"refused": "Choose the device the caller lost."}


def test_nested_subflows_each_pin_their_version_and_unwind_in_order(tmp_path, desk):
    client, technician, user = desk
    middle = outer()
    middle.update(id="middle", complaint="code_rejected", title="Middle")
    top = outer()
    node(top, "run_inner")["playbook"] = "middle"
    publish(tmp_path, inner(), middle, top)
    ticket = open_ticket(technician, user)
    session = start(client, ticket)
    assert [f["playbook"] for f in session.state["subflows"]] == ["middle", "inner"]

    client.post(advance_url(session), {"node": "ask", "value": "false"})
    ask = session.steps.get(node="ask")
    client.post(
        reverse("troubleshooting:back", kwargs={"pk": session.pk}), {"sequence": ask.sequence}
    )
    session.refresh_from_db()
    assert session.status == "active"
    assert [f["playbook"] for f in session.state["subflows"]] == ["middle", "inner"]
    client.post(advance_url(session), {"node": "ask", "value": "true"})

    session.refresh_from_db()
    assert taken(session, superseded_at__isnull=True) == [
        ("inner", "status", "active"),
        ("inner", "ask", "true"),
        ("middle", "run_inner", "otherwise"),
        ("outer", "run_inner", "otherwise"),
    ]
    assert "subflows" not in session.state
    assert (session.status, session.outcome) == ("ended", "escalated_tier2")
