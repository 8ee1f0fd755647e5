"""The recovery actions through HTTP: every guard refused with a clear message and an event,
bypass codes shown once, PRG without JavaScript, htmx partials, the push polling fragment and
the approvals queue."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from authsim import caller
from authsim.models import FraudReport
from enrollment.enums import ApprovalKind
from enrollment.models import ApprovalRequest, BypassCode
from enrollment.services import approval_request_create
from helpdesk.enums import EventKind
from helpdesk.roles import Role
from helpdesk.services.staff import staff_link_directory_identity
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    guard_map,
    privileged_desk_fixture,
    verify_caller,
)
from tests.factories import AdministrativeUnitFactory, DeviceFactory, EndUserFactory, GroupFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def action_url(desk, action):
    return reverse(
        "enrollment:ticket-action", kwargs={"ticket_pk": desk.ticket.pk, "action": action}
    )


def panel_url(desk):
    return reverse("enrollment:ticket-actions", kwargs={"ticket_pk": desk.ticket.pk})


def issue(client, desk, **data):
    return client.post(action_url(desk, "bypass_code_issue"), {"reason": "Phone broken", **data})


def test_panel_shows_identity_methods_and_actions(desk, client_for):
    response = client_for(desk.technician).get(panel_url(desk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Not verified" in body
    assert "+14155550199" in body
    assert "+14155550101" in body
    assert "Knowledge questions (birth date, manager, employee number) never count." in body
    assert "Issue a bypass code" in body


def test_panel_as_htmx_is_the_partial(desk, client_for):
    response = client_for(desk.technician).get(panel_url(desk), **HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="recovery-panel"')
    assert "<html" not in body


def test_capability_refused_over_http_with_an_event(desk, client_for):
    verify_caller(desk)

    response = issue(client_for(desk.supervisor), desk)

    assert response.status_code == 403
    payload = desk.last_event().payload
    assert (payload["outcome"], payload["by"], guard_map(payload)) == (
        "refused",
        "sam.super",
        {"capability": False, "administrative_unit": True},
    )
    assert BypassCode.objects.count() == 0


def test_unit_scope_refused_over_http_with_an_event(desk, client_for):
    outsider = make_staff(Role.HELPDESK, username="otto.outsider")
    AdministrativeUnitFactory(name="Other", groups=[GroupFactory(name="Other")], staff=[outsider])
    verify_caller(desk)

    response = issue(client_for(outsider), desk)

    assert response.status_code == 404
    assert guard_map(desk.last_event().payload)["administrative_unit"] is False
    assert client_for(outsider).get(panel_url(desk)).status_code == 404


def test_identity_guard_over_http(desk, client_for):
    response = issue(client_for(desk.technician), desk)

    assert response.status_code == 200
    assert "Refused:</strong> Verify the caller&#x27;s identity on this ticket first" in (
        response.content.decode()
    )
    assert guard_map(desk.last_event().payload)["identity_verified"] is False
    assert BypassCode.objects.count() == 0


def test_reason_guard_over_http(desk, client_for):
    verify_caller(desk)

    response = issue(client_for(desk.technician), desk, reason="  ")

    assert (
        "Refused:</strong> Give a reason in words (at least 3 letters" in response.content.decode()
    )
    assert guard_map(desk.last_event().payload)["reason"] is False


def test_not_self_guard_over_http(desk, client_for):
    staff_link_directory_identity(actor=desk.owner, target=desk.technician, end_user=desk.end_user)
    verify_caller(desk, staff=desk.colleague)

    response = issue(client_for(desk.technician), desk)

    assert (
        "Refused:</strong> This is your own account; another technician must help you."
        in response.content.decode()
    )
    assert guard_map(desk.last_event().payload)["not_self"] is False


def test_fraud_guard_over_http_offers_escalation_to_security(desk, client_for):
    verify_caller(desk)
    FraudReport.objects.create(end_user=desk.end_user, detail="Denied as fraud")
    client = client_for(desk.technician)

    response = issue(client, desk)

    body = response.content.decode()
    assert "1 open fraud signal(s)" in body
    assert reverse("enrollment:escalate-security", kwargs={"ticket_pk": desk.ticket.pk}) in body
    assert guard_map(desk.last_event().payload)["no_open_fraud"] is False
    escalated = client.post(
        reverse("enrollment:escalate-security", kwargs={"ticket_pk": desk.ticket.pk}),
        {"reason": "Open fraud signal on the account"},
    )
    desk.ticket.refresh_from_db()
    assert escalated["Location"] == reverse("helpdesk:ticket-detail", kwargs={"pk": desk.ticket.pk})
    assert (desk.ticket.status, desk.ticket.tier) == ("escalated", 3)


def test_rate_limit_over_http(desk, client_for, settings):
    settings.RECOVERY_RATE_LIMIT_PER_TECHNICIAN = 1
    verify_caller(desk)
    client = client_for(desk.technician)
    issue(client, desk)

    response = issue(client, desk)

    assert "Refused:</strong> Rate limit reached: 1 recovery actions per technician" in (
        response.content.decode()
    )
    assert guard_map(desk.last_event().payload)["rate_limit_technician"] is False


def test_second_approver_over_http_from_request_to_action(privileged_desk, client_for):
    desk = privileged_desk
    verify_caller(desk)
    technician = client_for(desk.technician)

    refused = issue(technician, desk)
    assert "A supervisor must approve this first (dana.lee is a privileged end user)" in (
        refused.content.decode()
    )
    assert 'name="action" value="bypass_code_issue"' in refused.content.decode()
    requested = technician.post(
        reverse("enrollment:approval-request", kwargs={"ticket_pk": desk.ticket.pk}),
        {"kind": "action", "action": "bypass_code_issue", "reason": "Admin locked out"},
    )
    assert requested.status_code == 302
    supervisor = client_for(desk.supervisor)
    queue = supervisor.get(reverse("enrollment:approval-queue"))
    assert "Admin locked out" in queue.content.decode()
    approval = ApprovalRequest.objects.get()
    decided = supervisor.post(
        reverse("enrollment:approval-decide", kwargs={"pk": approval.pk}),
        {"decision": "approve", "reason": "Spoke to their manager"},
    )
    assert decided["Location"] == reverse("enrollment:approval-queue")

    issued = issue(technician, desk)

    assert issued.status_code == 200
    assert BypassCode.objects.count() == 1
    assert desk.last_event().payload["target"]["approval_id"] == approval.pk


def test_supervisor_cannot_decide_own_account_request_over_http(desk, client_for):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )
    staff_link_directory_identity(actor=desk.owner, target=desk.supervisor, end_user=desk.end_user)

    response = client_for(desk.supervisor).post(
        reverse("enrollment:approval-decide", kwargs={"pk": approval.pk}),
        {"decision": "approve", "reason": "Checked"},
    )

    assert response.status_code == 200
    assert "This request concerns your own account." in response.content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_bypass_code_is_shown_once_and_never_cached(desk, client_for):
    verify_caller(desk)
    client = client_for(desk.technician)

    response = issue(client, desk)

    body = response.content.decode()
    code_hash = BypassCode.objects.get().code_hash
    shown = body.split('<code class="bypass-code" ')[1:]
    shown = [part.split(">", 1)[1] for part in shown]
    code = shown[0].split("<")[0].replace(" ", "")
    assert (len(shown), len(code), code.isdigit()) == (1, 10, True)
    assert "no-store" in response["Cache-Control"]
    assert code not in code_hash
    assert code not in client.get(panel_url(desk)).content.decode()


def test_plain_post_redirects_and_htmx_post_re_renders(desk, client_for, settings):
    client = client_for(desk.technician)
    url = reverse("enrollment:identity-callback", kwargs={"ticket_pk": desk.ticket.pk})
    data = {"phone_number": desk.end_user.phone, "confirmed": "on"}

    plain = client.post(url, data)
    followed = client.get(plain["Location"])
    htmx = client.post(
        action_url(desk, "enrollment_email_resend"), {"reason": "Email lost"}, **HTMX
    )

    assert plain["Location"] == panel_url(desk)
    assert "Caller verified by callback until" in followed.content.decode()
    assert htmx.status_code == 200
    assert htmx["HX-Trigger"] == "ticket-changed"
    assert "New enrollment link sent" in htmx.content.decode()


def test_callback_to_a_number_not_of_record_over_http(desk, client_for):
    response = client_for(desk.technician).post(
        reverse("enrollment:identity-callback", kwargs={"ticket_pk": desk.ticket.pk}),
        {"phone_number": "+19995550000", "confirmed": "on"},
    )

    assert "Call back a number of record only, never one the caller gives." in (
        response.content.decode()
    )


def test_push_status_polls_until_answered(desk, client_for, django_capture_on_commit_callbacks):
    client = client_for(desk.technician)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("enrollment:identity-push", kwargs={"ticket_pk": desk.ticket.pk}),
            {"device": desk.phone.pk},
            **HTMX,
        )
    verification = desk.ticket.identity_verifications.get()
    status_url = reverse("enrollment:identity-status", kwargs={"pk": verification.pk})

    waiting = client.get(status_url, **HTMX)
    with django_capture_on_commit_callbacks(execute=True):
        caller.approve_push(desk.end_user, desk.phone)
    answered = client.get(status_url, **HTMX)

    assert waiting.status_code == 200
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    assert answered.status_code == 286
    assert "identity verified until" in answered.content.decode()
    assert 'hx-trigger="every 2s"' not in answered.content.decode()


def _approval(desk, n):
    end_user = EndUserFactory(username=f"queued{n}", groups=[desk.group])
    from helpdesk.services.tickets import ticket_open

    ticket = ticket_open(
        actor=desk.technician,
        end_user=end_user,
        subject="Queued",
        category="other",
        channel="phone",
    )
    return approval_request_create(
        actor=desk.technician, ticket=ticket, kind=ApprovalKind.IDENTITY, reason=f"Reason {n}"
    )


@pytest.mark.parametrize("rows", [1, 3])
def test_approval_queue_query_count_does_not_grow_with_rows(desk, client_for, rows):
    for n in range(rows):
        _approval(desk, n)
    client = client_for(desk.supervisor)
    client.get(reverse("enrollment:approval-queue"))  # warm the session and caches

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("enrollment:approval-queue"))

    assert response.content.decode().count('class="card approval-request"') == rows
    # The page's 8, and the full context of every request: the end users' groups (the
    # privileged flag), identity verifications, recent events, open fraud signals; and the
    # navigation's count of pending requests.
    assert len(queries) == 13


def test_reset_all_second_approver_over_http(desk, client_for):
    verify_caller(desk)

    response = client_for(desk.technician).post(
        action_url(desk, "authenticators_reset_all"), {"reason": "Every factor compromised"}
    )

    assert (
        "A supervisor must approve this first (resetting every authenticator)"
        in response.content.decode()
    )
    assert guard_map(desk.last_event().payload)["second_approver"] is False
    desk.push.refresh_from_db()
    assert desk.push.status == "active"


def test_rate_limit_per_end_user_over_http(desk, client_for, settings):
    settings.RECOVERY_RATE_LIMIT_PER_END_USER = 1
    verify_caller(desk)
    issue(client_for(desk.technician), desk)

    response = issue(client_for(desk.colleague), desk)

    assert "Rate limit reached: 1 recovery actions for dana.lee" in response.content.decode()
    assert guard_map(desk.last_event().payload)["rate_limit_end_user"] is False


def test_closed_ticket_over_http(desk, client_for):
    from helpdesk.services.tickets import ticket_resolve

    verify_caller(desk)
    ticket_resolve(
        actor=desk.technician,
        ticket=desk.ticket,
        outcome="working_as_designed",
        root_causes=[],
        expected_version=None,
    )

    response = issue(client_for(desk.technician), desk)

    assert f"Ticket #{desk.ticket.pk} is resolved; reopen it first." in response.content.decode()
    assert BypassCode.objects.count() == 0


@pytest.mark.parametrize("extra", [0, 3])
def test_panel_query_count_does_not_grow_with_devices_and_authenticators(desk, client_for, extra):
    from tests.factories import AuthenticatorFactory, DeviceFactory

    for n in range(extra):
        device = DeviceFactory(end_user=desk.end_user, name=f"Tablet {n}")
        AuthenticatorFactory(end_user=desk.end_user, device=device, method="totp")
        AuthenticatorFactory(end_user=desk.end_user, device=None, status="pending_activation")
    client = client_for(desk.technician)
    client.get(panel_url(desk))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(panel_url(desk))

    assert response.content.decode().count('<option value="') >= 1 + extra
    assert len(queries) == 17


# --- Feedback where the action was ---------------------------------------------------------------


def _cell(body: str, name: str) -> str:
    """The panel's cell of one action form, up to the next cell."""
    start = body.index(f'<div class="recovery-form" id="recovery-{name}">')
    end = body.find('<div class="recovery-form"', start + 1)
    return body[start : end if end != -1 else len(body)]


def test_a_refusal_renders_at_its_form_with_focus_and_keeps_the_reason(desk, client_for):
    response = issue(client_for(desk.technician), desk, reason="Phone fell in the sea", **HTMX)

    body = response.content.decode()
    cell = _cell(body, "bypass-code-issue")
    assert "Verify the caller&#x27;s identity on this ticket first" in cell
    assert 'tabindex="-1" autofocus role="alert"' in cell
    assert 'value="Phone fell in the sea"' in cell
    # Not at the top of the panel, far from the button.
    assert body.count("Verify the caller&#x27;s identity on this ticket first") == 1


def test_codes_show_once_at_the_button_grouped_with_copy_and_handover(desk, client_for):
    verify_caller(desk)
    client = client_for(desk.technician)

    response = issue(client, desk, count=2, **HTMX)

    cell = _cell(response.content.decode(), "bypass-code-issue")
    codes = [part.split("</code>")[0].split(">")[-1] for part in cell.split('bypass-code" ')[1:]]
    assert len(codes) == 2
    for grouped in codes:
        digits = grouped.replace(" ", "")
        assert grouped == " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))
        assert f'data-copy="{digits}" hidden>Copy</button>' in cell
    given = reverse("enrollment:bypass-handed-over", kwargs={"ticket_pk": desk.ticket.pk})
    assert f'action="{given}"' in cell
    assert "I have given these codes to the caller" in cell


def test_handing_over_is_recorded_once_on_the_trail(desk, client_for):
    verify_caller(desk)
    client = client_for(desk.technician)
    issue(client, desk, count=2)
    ids = sorted(BypassCode.objects.values_list("pk", flat=True))
    given = reverse("enrollment:bypass-handed-over", kwargs={"ticket_pk": desk.ticket.pk})

    response = client.post(given, **HTMX)

    event = desk.last_event()
    assert (event.payload["action"], event.payload["outcome"], event.payload["by"]) == (
        "bypass_codes_handed_over",
        "done",
        desk.technician.username,
    )
    assert sorted(event.payload["target"]["bypass_code_ids"]) == ids
    cell = _cell(response.content.decode(), "bypass-code-issue")
    assert "Recorded on the ticket: the codes were given to the caller." in cell
    again = client.post(given, **HTMX)
    assert "Already recorded: these codes were given to the caller." in _cell(
        again.content.decode(), "bypass-code-issue"
    )
    assert desk.ticket.events.filter(payload__action="bypass_codes_handed_over").count() == 1


def test_another_users_device_id_is_refused_with_an_event_on_the_ticket(desk, client_for):
    other = DeviceFactory(name="Someone else's phone")

    response = client_for(desk.technician).post(
        action_url(desk, "device_mark_lost"), {"reason": "Caller lost it", "device": other.pk}
    )

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.lost_at is None
    refused = desk.last_event().payload
    assert (refused["action"], refused["outcome"]) == ("device_mark_lost", "refused")
    assert guard_map(refused)["target_of_end_user"] is False


def test_an_out_of_unit_approval_decision_is_refused_with_an_event(desk, client_for):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )
    outsider = make_staff(Role.SUPERVISOR, username="out.super")
    AdministrativeUnitFactory(name="Elsewhere", groups=[GroupFactory()], staff=[outsider])

    response = client_for(outsider).post(
        reverse("enrollment:approval-decide", kwargs={"pk": approval.pk}),
        {"decision": "approve", "reason": "Looks fine to me"},
    )

    assert response.status_code == 404
    approval.refresh_from_db()
    assert approval.status == "pending"
    refused = desk.last_event(EventKind.IDENTITY_VERIFIED).payload
    assert (refused["result"], refused["by"]) == ("refused", "out.super")
