"""Each guard of the recovery actions, tried through the service with an attempt to get
around it; every refusal is a clear message and an event."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from authsim.models import FraudReport
from enrollment import clock
from enrollment.enums import ApprovalKind, ApprovalStatus
from enrollment.models import ApprovalRequest, BypassCode, IdentityVerification
from enrollment.services import (
    RecoveryRefused,
    approval_decide,
    approval_request_create,
    authenticators_reset_all,
    bypass_code_issue,
    device_mark_lost,
    end_user_unlock,
)
from helpdesk.enums import TicketStatus, Tier
from helpdesk.reasons import PROBLEM as REASON_PROBLEM
from helpdesk.roles import Role
from helpdesk.services.staff import staff_link_directory_identity
from helpdesk.services.tickets import ticket_escalate, ticket_resolve
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    guard_map,
    privileged_desk_fixture,
    second_approval,
    verify_caller,
)
from tests.factories import AdministrativeUnitFactory, GroupFactory

pytestmark = pytest.mark.django_db

REASON = "Caller lost their phone, verified by callback"


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


def test_capability_refuses_a_role_without_recovery_actions(desk):
    verify_caller(desk)

    with pytest.raises(PermissionDenied, match="may not perform recovery actions"):
        bypass_code_issue(actor=desk.supervisor, ticket=desk.ticket, reason=REASON)

    payload = desk.last_event().payload
    assert (payload["action"], payload["outcome"], payload["by"]) == (
        "bypass_code_issue",
        "refused",
        "sam.super",
    )
    assert guard_map(payload) == {"capability": False, "administrative_unit": True}
    assert BypassCode.objects.count() == 0


def test_unit_scope_hides_the_ticket_from_another_units_technician(desk):
    outsider = make_staff(Role.HELPDESK, username="otto.outsider")
    AdministrativeUnitFactory(
        name="Other desk", groups=[GroupFactory(name="Other")], staff=[outsider]
    )
    verify_caller(desk)

    with pytest.raises(Http404):
        bypass_code_issue(actor=outsider, ticket=desk.ticket, reason=REASON)

    payload = desk.last_event().payload
    assert (payload["outcome"], guard_map(payload)) == (
        "refused",
        {"capability": True, "administrative_unit": False},
    )
    assert BypassCode.objects.count() == 0


def test_identity_verification_is_required(desk):
    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "identity_verified"
    assert str(refused.value) == (
        "Verify the caller's identity on this ticket first (verification push, callback to "
        "the number of record, or a supervisor's approval)."
    )
    payload = desk.last_event().payload
    assert payload["outcome"] == "refused"
    assert guard_map(payload)["identity_verified"] is False
    assert payload["reason"] == REASON


def test_identity_verified_on_another_ticket_does_not_count(desk):
    other_ticket = ticket_open_again(desk)
    IdentityVerification.objects.all().delete()
    from enrollment.services import identity_callback_attest

    identity_callback_attest(
        actor=desk.technician,
        ticket=other_ticket,
        phone_number=desk.end_user.mobile,
        confirmed=True,
    )

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "identity_verified"


def ticket_open_again(desk):
    from helpdesk.enums import Category, Channel
    from helpdesk.services.tickets import ticket_open

    return ticket_open(
        actor=desk.technician,
        end_user=desk.end_user,
        subject="Another call",
        category=Category.OTHER,
        channel=Channel.PHONE,
    )


def test_identity_verification_expires_after_fifteen_minutes(desk):
    verify_caller(desk)
    clock.advance(timedelta(minutes=15, seconds=1))

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "identity_verified"


def test_identity_lifetime_follows_the_setting(desk, settings):
    settings.IDENTITY_VERIFICATION_MINUTES = 30
    verify_caller(desk)
    clock.advance(timedelta(minutes=20))

    issue = bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert len(issue.codes) == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(desk, reason):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=reason)

    assert (refused.value.guard, str(refused.value)) == ("reason", REASON_PROBLEM)
    assert guard_map(desk.last_event().payload)["reason"] is False


def _link_to_the_caller(desk, staff):
    staff_link_directory_identity(actor=desk.owner, target=staff, end_user=desk.end_user)


def test_nobody_acts_on_their_own_linked_account(desk):
    _link_to_the_caller(desk, desk.technician)
    verify_caller(desk, staff=desk.colleague)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "not_self"
    assert str(refused.value) == "This is your own account; another technician must help you."
    assert guard_map(desk.last_event().payload)["not_self"] is False


def test_own_account_is_the_link_not_a_matching_name_or_address(desk):
    desk.technician.username, desk.technician.email = "DANA.LEE", desk.end_user.email
    desk.technician.save(update_fields=["username", "email"])
    _link_to_the_caller(desk, desk.colleague)
    verify_caller(desk, staff=desk.owner)

    with pytest.raises(RecoveryRefused) as refused:
        device_mark_lost(
            actor=desk.colleague, ticket=desk.ticket, reason=REASON, device_id=desk.phone.pk
        )

    assert refused.value.guard == "not_self"
    # The look-alike (same name and address, no link) is not taken for the caller.
    done = device_mark_lost(
        actor=desk.technician, ticket=desk.ticket, reason=REASON, device_id=desk.phone.pk
    )
    assert done is not None


def test_open_fraud_signal_blocks_and_offers_escalation_to_security(desk):
    verify_caller(desk)
    FraudReport.objects.create(end_user=desk.end_user, detail="Denied a push as fraud")

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "no_open_fraud"
    assert refused.value.offer_security_escalation is True
    assert "Escalate to security instead." in str(refused.value)
    assert guard_map(desk.last_event().payload)["no_open_fraud"] is False
    # The offered way out works: escalation to the security tier.
    escalated = ticket_escalate(
        actor=desk.technician,
        ticket=desk.ticket,
        reason=str(refused.value),
        expected_version=None,
        to_tier=Tier.SECURITY,
    )
    assert (escalated.status, escalated.tier) == (TicketStatus.ESCALATED, Tier.SECURITY)


def test_fraud_signal_does_not_block_marking_a_device_lost(desk):
    FraudReport.objects.create(end_user=desk.end_user, detail="Denied a push as fraud")

    device = device_mark_lost(
        actor=desk.technician, ticket=desk.ticket, reason=REASON, device_id=desk.phone.pk
    )

    assert device.lost_at is not None


def test_privileged_end_user_needs_a_second_approver(privileged_desk):
    desk = privileged_desk
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "second_approver"
    assert str(refused.value) == (
        "A supervisor must approve this first (dana.lee is a privileged end user): "
        "request approval."
    )
    assert guard_map(desk.last_event().payload)["second_approver"] is False


def test_second_approval_is_used_once(privileged_desk):
    desk = privileged_desk
    verify_caller(desk)
    approval = second_approval(desk, "bypass_code_issue")

    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)
    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.USED
    assert refused.value.guard == "second_approver"


def test_second_approval_of_another_action_does_not_count(privileged_desk):
    desk = privileged_desk
    verify_caller(desk)
    second_approval(desk, "end_user_unlock")

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "second_approver"


def test_second_approval_expires(privileged_desk):
    desk = privileged_desk
    verify_caller(desk)
    second_approval(desk, "bypass_code_issue")
    clock.advance(timedelta(minutes=31))
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "second_approver"


def test_nobody_approves_their_own_request(privileged_desk):
    desk = privileged_desk
    AdministrativeUnitFactory(name="Owner desk", groups=[desk.group], staff=[desk.owner])
    approval = approval_request_create(
        actor=desk.owner,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Need it",
    )

    with pytest.raises(RecoveryRefused) as refused:
        approval_decide(actor=desk.owner, approval=approval, approve=True, reason="Fine by me")

    assert refused.value.guard == "not_requester"
    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING
    assert desk.last_event().payload["outcome"] == "approval_refused"


def test_a_technician_cannot_approve(privileged_desk):
    desk = privileged_desk
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Need it",
    )

    with pytest.raises(PermissionDenied):
        approval_decide(actor=desk.colleague, approval=approval, approve=True, reason="Checked")

    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING


def test_a_denied_approval_does_not_count(privileged_desk):
    desk = privileged_desk
    verify_caller(desk)
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action="bypass_code_issue",
        reason="Need it",
    )
    approval_decide(actor=desk.supervisor, approval=approval, approve=False, reason="Call back")

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "second_approver"
    assert [p["outcome"] for p in desk.events()][-3:] == [
        "approval_requested",
        "approval_denied",
        "refused",
    ]


def test_reset_all_needs_a_second_approver_even_for_ordinary_users(desk):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        authenticators_reset_all(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "second_approver"
    assert str(refused.value) == (
        "A supervisor must approve this first (resetting every authenticator): request approval."
    )
    second_approval(desk, "authenticators_reset_all")
    assert authenticators_reset_all(actor=desk.technician, ticket=desk.ticket, reason=REASON) == [
        desk.push.pk
    ]


def test_rate_limit_per_technician(desk, settings):
    settings.RECOVERY_RATE_LIMIT_PER_TECHNICIAN = 2
    verify_caller(desk)
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)
    first_at = desk.last_event().occurred_at
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    resets = first_at + timedelta(hours=1)
    assert refused.value.guard == "rate_limit_technician"
    assert str(refused.value) == (
        "Rate limit reached: 2 recovery actions per technician in the last 1 hour(s) "
        f"(limit 2). It resets at {resets:%H:%M:%S} UTC."
    )
    assert guard_map(desk.last_event().payload)["rate_limit_technician"] is False


def test_rate_limit_per_technician_resets_after_the_window(desk, settings):
    settings.RECOVERY_RATE_LIMIT_PER_TECHNICIAN = 1
    verify_caller(desk)
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)
    clock.advance(timedelta(minutes=61))
    verify_caller(desk)

    issue = bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert len(issue.codes) == 1


def test_rate_limit_per_end_user_counts_every_technician(desk, settings):
    settings.RECOVERY_RATE_LIMIT_PER_END_USER = 1
    verify_caller(desk)
    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    with pytest.raises(RecoveryRefused) as refused:
        bypass_code_issue(actor=desk.colleague, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "rate_limit_end_user"
    assert str(refused.value).startswith(
        "Rate limit reached: 1 recovery actions for dana.lee in the last 1 hour(s) (limit 1)."
    )


def test_refusals_do_not_count_toward_rate_limits(desk, settings):
    settings.RECOVERY_RATE_LIMIT_PER_TECHNICIAN = 1
    for _ in range(3):
        with pytest.raises(RecoveryRefused):
            bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)
    verify_caller(desk)

    assert (
        len(bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON).codes) == 1
    )


def test_closed_ticket_refuses_actions(desk):
    verify_caller(desk)
    ticket_resolve(
        actor=desk.technician,
        ticket=desk.ticket,
        outcome="working_as_designed",
        root_causes=[],
        expected_version=None,
    )

    with pytest.raises(RecoveryRefused) as refused:
        end_user_unlock(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert refused.value.guard == "ticket_open"


def test_every_guard_result_is_recorded_on_success(desk):
    verify_caller(desk)

    bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    payload = desk.last_event().payload
    assert payload["outcome"] == "done"
    assert guard_map(payload) == {
        "capability": True,
        "administrative_unit": True,
        "ticket_open": True,
        "reason": True,
        "not_self": True,
        "identity_verified": True,
        "no_open_fraud": True,
        "rate_limit_technician": True,
        "rate_limit_end_user": True,
    }


def test_second_approval_request_on_own_account_is_refused_as_a_recovery_event(desk):
    _link_to_the_caller(desk, desk.technician)

    with pytest.raises(RecoveryRefused) as refused:
        approval_request_create(
            actor=desk.technician,
            ticket=desk.ticket,
            kind=ApprovalKind.ACTION,
            action="bypass_code_issue",
            reason="For myself",
        )

    assert refused.value.guard == "not_self"
    payload = desk.last_event().payload
    assert (payload["action"], payload["outcome"]) == ("bypass_code_issue", "approval_refused")
    assert ApprovalRequest.objects.count() == 0
