"""The approvals queue shows each request with its ticket's full context; decisions need a
reason, are audited, and never come from the requester."""

import pytest
from django.urls import reverse

from authsim.models import FraudReport
from enrollment.enums import ApprovalKind, ApprovalStatus
from enrollment.models import ApprovalRequest
from enrollment.services import approval_request_create
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    privileged_desk_fixture,
    verify_caller,
)
from tests.factories import EndUserFactory

QUEUE = reverse("enrollment:approval-queue")
# The home page for a supervisor without the badge, and the queue's htmx fragment.
HOME_QUERIES = 7
QUEUE_FRAGMENT_QUERIES = 12


def decide(pk: int) -> str:
    return reverse("enrollment:approval-decide", kwargs={"pk": pk})


def test_each_request_shows_its_tickets_full_context(privileged_desk, client_for):
    desk = privileged_desk
    verify_caller(desk)
    FraudReport.objects.create(end_user=desk.end_user, detail="Denied a push at 3 am")
    approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Admin travelling without phone",
    )

    html = client_for(desk.supervisor).get(QUEUE).content.decode()

    assert "Dana Lee (dana.lee)" in html
    assert '<span class="badge badge-warn">Privileged</span>' in html  # a privileged group
    assert "Locked out: Lost access" in html  # complaint and subject
    assert "Second approval to <strong>issue a bypass code</strong>" in html
    assert "Admin travelling without phone" in html
    assert "tina.tech" in html  # the requesting technician
    assert "Callback to the phone number of record, verified" in html  # verification so far
    assert '<span class="badge badge-danger">1 open</span>' in html
    assert "Denied a push at 3 am" in html
    assert "Opened by tina.tech" in html  # recent ticket events
    assert 'name="reason" id="id_reason_' in html


def test_a_request_without_fraud_signals_or_verification_says_so(desk, client_for):
    approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )
    html = client_for(desk.supervisor).get(QUEUE).content.decode()
    assert "None open" in html
    assert "None yet." in html
    assert "Privileged</span>" not in html


def test_approve_and_deny_need_a_reason_and_are_audited(desk, client_for):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )
    supervisor = client_for(desk.supervisor)

    blank = supervisor.post(decide(approval.pk), {"decision": "approve", "reason": " "})
    assert "Give a reason in words (at least 3 letters or digits)" in blank.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    refused = TicketEvent.objects.filter(ticket=desk.ticket, kind=EventKind.IDENTITY_VERIFIED)
    assert refused.order_by("-seq").first().payload["result"] == "refused"

    supervisor.post(decide(approval.pk), {"decision": "deny", "reason": "Call them back"})
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.decision_reason) == (
        ApprovalStatus.DENIED,
        desk.supervisor,
        "Call them back",
    )
    last = refused.order_by("-seq").first()
    assert (last.actor, last.payload["result"], last.payload["reason"]) == (
        desk.supervisor,
        "denied",
        "Call them back",
    )


def test_approving_an_action_is_audited(privileged_desk, client_for):
    desk = privileged_desk
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Admin travelling",
    )
    client_for(desk.supervisor).post(
        decide(approval.pk), {"decision": "approve", "reason": "Manager confirmed"}
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    event = desk.last_event()
    assert (event.actor, event.payload["outcome"], event.payload["reason"]) == (
        desk.supervisor,
        "approval_approved",
        "Manager confirmed",
    )


def test_a_supervisor_never_decides_their_own_request(desk, client_for):
    """Supervisors cannot request (no work_tickets); an owner can do both, and still may not
    decide what they asked for."""
    owner = make_staff(Role.OWNER, username="otto.owner")
    approval = approval_request_create(
        actor=owner, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="Caller unsure"
    )
    response = client_for(owner).post(
        decide(approval.pk), {"decision": "approve", "reason": "Checked"}
    )

    assert "You asked for this approval; another supervisor must decide it." in (
        response.content.decode()
    )
    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING
    last = TicketEvent.objects.filter(ticket=desk.ticket).order_by("-seq").first()
    assert (last.actor, last.payload["result"]) == (owner, "refused")


# --- The decision said in words, and the count in the navigation ----------------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_approved_action_is_confirmed_in_plain_words(privileged_desk, client_for):
    desk = privileged_desk
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Admin travelling",
    )

    response = client_for(desk.supervisor).post(
        decide(approval.pk), {"decision": "approve", "reason": "Manager confirmed"}, follow=True
    )

    assert (
        f'<li class="message message-success">Approved: issue a bypass code for Dana Lee. '
        f"{desk.technician.get_full_name()} can now do it on ticket #{desk.ticket.pk}.</li>"
    ) in response.content.decode()


def test_a_denied_identity_is_confirmed_beside_the_queue_over_htmx(desk, client_for):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )

    response = client_for(desk.supervisor).post(
        decide(approval.pk), {"decision": "deny", "reason": "Voice did not match"}, **HTMX
    )

    body = response.content.decode()
    assert '<div id="approval-queue"' in body
    assert "<html" not in body  # the fragment
    assert (
        '<p class="message message-success" role="status">Denied: the caller&#x27;s identity '
        f"for Dana Lee. {desk.technician.get_full_name()} must verify the caller another way on "
        "ticket "
        f"#{desk.ticket.pk}.</p>"
    ) in body


def _queue_requests(desk, count: int) -> None:
    for n in range(count):
        end_user = EndUserFactory(username=f"queued{n}", groups=[desk.group])
        ticket = ticket_open(
            actor=desk.technician,
            end_user=end_user,
            subject="Queued",
            category="other",
            channel="phone",
        )
        approval_request_create(
            actor=desk.technician, ticket=ticket, kind=ApprovalKind.IDENTITY, reason=f"Why {n}"
        )


def test_the_navigation_counts_the_requests_the_approver_may_decide(desk, client_for):
    _queue_requests(desk, 2)
    # The owner's own request is not theirs to decide, so it is not counted for them.
    approval_request_create(
        actor=desk.owner, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="Caller unsure"
    )

    supervisor = client_for(desk.supervisor).get(reverse("helpdesk:home")).content.decode()
    owner = client_for(desk.owner).get(reverse("helpdesk:home")).content.decode()
    technician = client_for(desk.technician).get(reverse("helpdesk:home")).content.decode()

    badge = (
        'Approvals <span class="nav-count" aria-hidden="true">{n}</span>'
        '<span class="visually-hidden">, {n} pending</span></a>'
    )
    assert badge.format(n=3) in supervisor
    assert badge.format(n=2) in owner
    assert "nav-count" not in technician


def test_no_badge_when_nothing_waits(desk, client_for):
    body = client_for(desk.supervisor).get(reverse("helpdesk:home")).content.decode()
    assert ">Approvals</a>" in body


@pytest.mark.parametrize("pending", [1, 3])
def test_the_count_costs_one_query_whatever_the_number(
    desk, client_for, django_assert_num_queries, pending
):
    _queue_requests(desk, pending)
    client = client_for(desk.supervisor)
    client.get(reverse("helpdesk:home"))  # warm the session

    # The home page's queries, and one COUNT for the badge.
    with django_assert_num_queries(HOME_QUERIES + 1):
        response = client.get(reverse("helpdesk:home"))

    assert f", {pending} pending</span>" in response.content.decode()


def test_an_htmx_fragment_does_not_count(desk, client_for, django_assert_num_queries):
    _queue_requests(desk, 1)
    client = client_for(desk.supervisor)
    client.get(QUEUE, **HTMX)

    with django_assert_num_queries(QUEUE_FRAGMENT_QUERIES):
        client.get(QUEUE, **HTMX)
