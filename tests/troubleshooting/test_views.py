"""The wizard over HTTP: plain forms with post/redirect/get, htmx partial swaps, the poll
that stops with 286, going back, the ticket-page include, and the card's query count."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment import clock
from enrollment.models import ApprovalRequest
from enrollment.services import approval_decide
from helpdesk.enums import Category, Channel
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.authsim.helpers import load
from tests.conftest import make_staff
from troubleshooting.models import GuidedSession
from troubleshooting.services import playbook_sync_from_files

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(client_for):
    playbook_sync_from_files()
    _, user = load("push-notifications-disabled")
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    ticket = ticket_open(
        actor=technician,
        end_user=user,
        subject="No prompt",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    return client_for(technician), ticket, user


def page(ticket):
    return reverse("troubleshooting:ticket", kwargs={"ticket_pk": ticket.pk})


def start(client, ticket, **headers):
    return client.post(
        reverse("troubleshooting:start", kwargs={"ticket_pk": ticket.pk}),
        {"application": ""},
        **headers,
    )


def test_the_ticket_page_include_loads_itself_with_htmx(desk):
    _, ticket, _ = desk

    html = render_to_string("troubleshooting/_session_panel.html", {"ticket": ticket})

    assert f'hx-get="{page(ticket)}"' in html
    assert 'hx-trigger="load"' in html


def test_start_without_js_redirects_to_the_first_card(desk):
    client, ticket, _ = desk
    assert "Start guided session" in client.get(page(ticket)).content.decode()

    response = start(client, ticket)

    assert (response.status_code, response["Location"]) == (302, page(ticket))
    body = client.get(page(ticket)).content.decode()
    assert 'data-node="test_sign_in"' in body
    assert "What the checks found" in body
    assert "<html" in body


def test_the_card_shows_what_the_evidence_rules_out_in_plain_words(desk):
    client, ticket, _ = desk
    start(client, ticket)

    body = client.get(page(ticket)).content.decode()

    # The automatic checks found an active account with no fraud report, a compatible,
    # recently seen phone: the card says which causes that rules out, by their titles.
    section = body[body.index('<section class="guide-reasoning"') :]
    section = section[: section.index("</section>")]
    assert "What the evidence says so far" in section
    assert "The account is disabled in the directory" in section
    assert "The user reported a sign-in request as fraud" in section
    assert "user_disabled" not in section
    assert "fraud_reported" not in section


def test_htmx_swaps_the_panel_partial(desk):
    client, ticket, _ = desk

    response = start(client, ticket, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="guide-panel"')
    assert "<html" not in body
    assert response["HX-Trigger"] == "ticket-changed"


def test_a_verify_polls_every_two_seconds_and_stops_with_286(desk):
    client, ticket, _ = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    advance = reverse("troubleshooting:advance", kwargs={"pk": session.pk})
    poll = reverse("troubleshooting:poll", kwargs={"pk": session.pk})

    response = client.post(advance, {"node": "test_sign_in"}, **HTMX)
    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert client.get(poll, **HTMX).status_code == 200
    clock.advance(timedelta(minutes=10))
    response = client.get(poll, **HTMX)

    assert response.status_code == 286
    assert 'data-node="ask_notifications"' in response.content.decode()


def test_answer_then_go_back_without_js(desk):
    client, ticket, _user = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    advance = reverse("troubleshooting:advance", kwargs={"pk": session.pk})
    client.post(advance, {"node": "test_sign_in"})
    clock.advance(timedelta(minutes=10))
    client.get(reverse("troubleshooting:poll", kwargs={"pk": session.pk}))

    response = client.post(advance, {"node": "ask_notifications", "value": "true"})
    assert response.status_code == 302
    answered = session.steps.get(node="ask_notifications")
    response = client.post(
        reverse("troubleshooting:back", kwargs={"pk": session.pk}),
        {"sequence": answered.sequence},
    )

    assert response.status_code == 302
    body = client.get(page(ticket)).content.decode()
    assert 'data-node="ask_notifications"' in body
    assert "guide-step-superseded" in body
    assert '<span class="badge">Yes, they are on</span>' in body
    stale = client.post(advance, {"node": "reinstall", "value": "done"}, follow=True)
    assert "The session has moved on" in stale.content.decode()


def test_the_card_view_query_count_does_not_grow_with_the_path(desk):
    client, ticket, _ = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)

    with CaptureQueriesContext(connection) as first:
        client.get(page(ticket), **HTMX)
    client.post(
        reverse("troubleshooting:advance", kwargs={"pk": session.pk}), {"node": "test_sign_in"}
    )
    clock.advance(timedelta(minutes=10))
    client.get(reverse("troubleshooting:poll", kwargs={"pk": session.pk}))
    assert session.steps.count() == 9
    with CaptureQueriesContext(connection) as later:
        client.get(page(ticket), **HTMX)

    assert (len(first), len(later)) == (11, 11)


def test_supervisor_identity_then_a_bypass_code_shown_once_and_verified(client_for):
    playbook_sync_from_files()
    _, user = load("authenticator-disabled")  # no phone number of record: no callback
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    supervisor = make_staff(Role.SUPERVISOR, username="sam.super")
    ticket = ticket_open(
        actor=technician,
        end_user=user,
        subject="No prompt",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    client = client_for(technician)
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    advance = reverse("troubleshooting:advance", kwargs={"pk": session.pk})
    poll = reverse("troubleshooting:poll", kwargs={"pk": session.pk})
    body = client.get(page(ticket)).content.decode()
    assert 'data-node="identity_disabled"' in body
    assert "The directory has no phone number for this user." in body

    client.post(advance, {"node": "identity_disabled", "method": "supervisor"})
    assert client.get(poll, **HTMX).status_code == 200
    approval = ApprovalRequest.objects.get(ticket=ticket)
    approval_decide(actor=supervisor, approval=approval, approve=True, reason="I know her")
    assert client.get(poll, **HTMX).status_code == 286
    # Before the last rungs the session diagnoses from the evidence: the caller cannot
    # finish any fix (no phone at hand to scan with), so it comes back to re-enrollment and
    # then the bypass code.
    shown = None
    for _ in range(40):
        card = client.get(page(ticket)).content.decode()
        found = re.search(r'data-node="([^"]+)"', card)
        if found is None:
            session.refresh_from_db()
            break
        node = found.group(1)
        kind = re.search(r'data-kind="([^"]+)"', card).group(1)
        if node == "bypass":
            shown = client.post(advance, {"node": "bypass"})
            break
        if kind == "instruct":
            client.post(advance, {"node": node, "value": "not_done"})
        elif kind == "question":
            value = re.search(r'name="value" value="([^"]+)"', card).group(1)
            client.post(advance, {"node": node, "value": value})
        elif kind == "verify":
            client.post(advance, {"node": node})
            clock.advance(timedelta(minutes=10))
            client.get(poll, **HTMX)
        elif 'name="method" value="existing"' in card:
            client.post(advance, {"node": node, "method": "existing"})
        else:
            client.post(advance, {"node": node, "reason": "Disabled in a clean-up"})
    assert shown is not None
    # Once, at the card, grouped for reading aloud, with the raw code on the copy button.
    code = re.search(r'data-copy="(\d+)"', shown.content.decode()).group(1)
    grouped = " ".join(code[i : i + 3] for i in range(0, len(code), 3))
    assert f">{grouped}</code>" in shown.content.decode()

    assert shown["Cache-Control"] == "no-store"
    assert code not in client.get(page(ticket)).content.decode()
    assert not session.steps.filter(evidence__icontains=code).exists()
    given = reverse("troubleshooting:bypass-given", kwargs={"pk": session.pk})
    assert f'action="{given}"' in shown.content.decode()
    confirmed = client.post(given, **HTMX).content.decode()
    assert "Recorded on the ticket: the code was given to the caller." in confirmed
    assert ticket.events.filter(payload__action="bypass_codes_handed_over").count() == 1
    client.post(advance, {"node": "verify_bypass", "passcode": code})
    session.refresh_from_db()
    assert (session.status, session.outcome, session.root_causes) == (
        "ended",
        "bypass_issued",
        ["authenticator_disabled"],
    )
    identity = session.steps.get(node="identity_disabled")
    assert (identity.branch, identity.facts) == ("verified", {"identity_verified_by": "supervisor"})


def test_the_card_comes_first_focused_with_one_line_findings_after_it(desk):
    client, ticket, _ = desk
    start(client, ticket)

    body = client.get(page(ticket)).content.decode()

    card = body.index('id="guide-card"')
    findings = body.index("What the checks found")
    path = body.index("Path so far")
    assert card < findings < path
    # The card's title takes the focus when the card is swapped in (htmx honours autofocus).
    assert 'id="guide-card-title" tabindex="-1" autofocus' in body
    # One line per check, in words; the evidence folded under it.
    assert (
        '<summary><span class="guide-finding-check">Directory status:</span> Account active'
        "</summary>"
    ) in body
    # The slot the diagnosis engine's reasoning fills.
    assert "Suspected causes and why" not in body
    assert body.count('class="guide-finding"') == len(
        re.findall(r'<li class="guide-finding">', body)
    )


def test_an_instruction_names_the_caller_action_in_words(desk):
    client, ticket, _ = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    html = render_to_string(
        "troubleshooting/_session_card.html",
        {
            "session": session,
            "ticket": ticket,
            "node": type(
                "Node",
                (),
                {
                    "id": "n",
                    "kind": "instruct",
                    "title": "Allow the camera",
                    "caller_action": "grant_camera_permission",
                    "prompt": "",
                },
            )(),
        },
    )
    assert "Ask the caller to: <strong>allow the authenticator app to use the camera" in html
    assert "grant_camera_permission" not in html.replace('data-node="n"', "")


def test_the_caller_saw_nothing_ends_the_wait_at_once_as_evidence(desk):
    client, ticket, _ = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    advance = reverse("troubleshooting:advance", kwargs={"pk": session.pk})
    report = reverse("troubleshooting:caller-report", kwargs={"pk": session.pk})
    waiting = client.post(advance, {"node": "test_sign_in"}, **HTMX).content.decode()
    assert "Waiting 0 s" in waiting
    assert f'action="{report}"' in waiting
    clock.advance(timedelta(seconds=75))
    assert "Waiting 1 min 15 s" in client.get(page(ticket), **HTMX).content.decode()

    response = client.post(report, {"report": "saw_nothing"}, **HTMX)

    # No waiting out the service's timeout: the card moved on with the caller's word.
    assert 'data-node="ask_notifications"' in response.content.decode()
    step = session.steps.get(node="test_sign_in")
    assert (step.branch, step.evidence["caller_reported"], step.evidence["reason"]) == (
        "timeout",
        "saw_nothing",
        "no_response",
    )


def test_a_caller_report_without_a_waiting_sign_in_is_refused_in_words(desk):
    client, ticket, _ = desk
    start(client, ticket)
    session = GuidedSession.objects.get(ticket=ticket)
    report = reverse("troubleshooting:caller-report", kwargs={"pk": session.pk})

    response = client.post(report, {"report": "denied"}, **HTMX)

    assert response.status_code == 200
    assert "No test sign-in is waiting now; the card has moved on." in response.content.decode()
    assert not session.steps.filter(node="test_sign_in").exists()


def test_abandoning_asks_for_confirmation_first(desk):
    client, ticket, _ = desk
    start(client, ticket)

    body = client.get(page(ticket)).content.decode()

    assert (
        'hx-confirm="Abandon this guided session? The ticket stays open; the steps so far stay '
        'on its trail." class="guide-abandon"'
    ) in body
