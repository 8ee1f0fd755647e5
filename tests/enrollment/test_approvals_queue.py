"""The approvals queue shows each request with its ticket's full context; decisions need a
reason, are audited, and never come from the requester."""

from django.urls import reverse

from authsim.models import FraudReport
from enrollment.enums import ApprovalKind, ApprovalStatus
from enrollment.models import ApprovalRequest
from enrollment.services import approval_request_create
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    privileged_desk_fixture,
    verify_caller,
)

QUEUE = reverse("enrollment:approval-queue")


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
