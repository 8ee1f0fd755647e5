"""Identity verification of the caller: push, callback to the number of record, supervisor
approval; each recorded on the ticket, valid there for a limited time."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from authsim import caller
from enrollment import clock
from enrollment.enums import ApprovalKind
from enrollment.models import IdentityVerification
from enrollment.services import (
    IdentityRefused,
    approval_decide,
    approval_request_create,
    identity_callback_attest,
    identity_current,
    identity_push_refresh,
    identity_push_send,
)
from helpdesk.enums import EventKind
from helpdesk.reasons import PROBLEM as REASON_PROBLEM
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import desk_fixture  # noqa: F401 - fixture
from tests.factories import AdministrativeUnitFactory, DeviceFactory, GroupFactory

pytestmark = pytest.mark.django_db

IDENTITY = EventKind.IDENTITY_VERIFIED


def send_push(desk, capture, device=None):
    with capture(execute=True):
        return identity_push_send(
            actor=desk.technician, ticket=desk.ticket, device_id=(device or desk.phone).pk
        )


def test_approved_push_verifies_the_caller_for_fifteen_minutes(
    desk, django_capture_on_commit_callbacks
):
    verification = send_push(desk, django_capture_on_commit_callbacks)
    assert (verification.status, verification.push_id != "") == ("pending", True)
    assert identity_push_refresh(actor=desk.technician, verification=verification).status == (
        "pending"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert caller.approve_push(desk.end_user, desk.phone).ok
    done = identity_push_refresh(actor=desk.technician, verification=verification)

    assert (done.status, done.result) == ("verified", "approved")
    assert done.valid_until - done.verified_at == timedelta(minutes=15)
    assert identity_current(desk.ticket) == done
    assert [(p["method"], p["result"], p["by"]) for p in desk.events(IDENTITY)] == [
        ("push", "pending", "tina.tech"),
        ("push", "verified", "tina.tech"),
    ]


def test_concluding_twice_writes_one_event(desk, django_capture_on_commit_callbacks):
    verification = send_push(desk, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        caller.approve_push(desk.end_user, desk.phone)

    identity_push_refresh(actor=desk.technician, verification=verification)
    identity_push_refresh(actor=desk.technician, verification=verification)

    assert [p["result"] for p in desk.events(IDENTITY)] == ["pending", "verified"]


def test_denied_push_does_not_verify(desk, django_capture_on_commit_callbacks):
    verification = send_push(desk, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        caller.deny_push(desk.end_user, desk.phone)

    done = identity_push_refresh(actor=desk.technician, verification=verification)

    assert (done.status, done.result) == ("failed", "denied")
    assert identity_current(desk.ticket) is None
    assert desk.events(IDENTITY)[-1]["result"] == "denied"


def test_unanswered_push_times_out(desk, django_capture_on_commit_callbacks):
    verification = send_push(desk, django_capture_on_commit_callbacks)
    clock.advance(timedelta(minutes=10))

    done = identity_push_refresh(actor=desk.technician, verification=verification)

    assert (done.status, done.result) == ("failed", "timed_out")


def test_push_only_to_a_device_with_an_active_push_authenticator(desk):
    new_phone = DeviceFactory(end_user=desk.end_user, name="Caller's new phone")

    with pytest.raises(IdentityRefused) as refused:
        identity_push_send(actor=desk.technician, ticket=desk.ticket, device_id=new_phone.pk)

    assert str(refused.value) == (
        "That device has no active push authenticator; choose another method."
    )
    assert desk.events(IDENTITY)[-1]["result"] == "refused"
    assert IdentityVerification.objects.count() == 0


def test_callback_to_the_number_of_record_verifies(desk):
    verification = identity_callback_attest(
        actor=desk.technician, ticket=desk.ticket, phone_number="+14155550199", confirmed=True
    )

    assert (verification.status, verification.phone_number) == ("verified", "+14155550199")
    payload = desk.events(IDENTITY)[-1]
    assert (payload["method"], payload["result"]) == ("callback", "verified")
    assert payload["detail"] == ("Called back …99 (number of record); the person confirmed.")
    # The append-only trail never holds the number in full; the verification row does.
    assert "4155550199" not in str(desk.events(IDENTITY))


def test_callback_to_a_number_the_caller_gives_is_refused(desk):
    with pytest.raises(IdentityRefused) as refused:
        identity_callback_attest(
            actor=desk.technician, ticket=desk.ticket, phone_number="+19995550000", confirmed=True
        )

    assert str(refused.value) == "Call back a number of record only, never one the caller gives."
    assert desk.events(IDENTITY)[-1]["result"] == "refused"
    assert identity_current(desk.ticket) is None


def test_callback_needs_the_attestation(desk):
    with pytest.raises(IdentityRefused):
        identity_callback_attest(
            actor=desk.technician, ticket=desk.ticket, phone_number="+14155550101", confirmed=False
        )

    assert identity_current(desk.ticket) is None


def test_supervisor_approval_verifies_the_caller(desk):
    approval = approval_request_create(
        actor=desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.IDENTITY,
        reason="Caller has no phone at all; known to their manager",
    )

    approval_decide(
        actor=desk.supervisor, approval=approval, approve=True, reason="Manager vouched"
    )

    verification = identity_current(desk.ticket)
    assert (verification.method, verification.decided_by) == ("supervisor", desk.supervisor)
    assert [(p["method"], p["result"], p["by"]) for p in desk.events(IDENTITY)] == [
        ("supervisor", "requested", "tina.tech"),
        ("supervisor", "verified", "sam.super"),
    ]


def test_supervisor_denial_does_not_verify(desk):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )

    approval_decide(actor=desk.supervisor, approval=approval, approve=False, reason="Call back")

    assert identity_current(desk.ticket) is None
    assert desk.events(IDENTITY)[-1]["result"] == "denied"


def test_supervisor_decision_needs_a_reason(desk):
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )

    with pytest.raises(IdentityRefused.__mro__[1]) as refused:
        approval_decide(actor=desk.supervisor, approval=approval, approve=True, reason=" ")

    assert str(refused.value) == REASON_PROBLEM
    assert identity_current(desk.ticket) is None


def test_supervisor_of_another_unit_cannot_decide(desk):
    outsider = make_staff(Role.SUPERVISOR, username="other.super")
    AdministrativeUnitFactory(name="Elsewhere", groups=[GroupFactory(name="X")], staff=[outsider])
    approval = approval_request_create(
        actor=desk.technician, ticket=desk.ticket, kind=ApprovalKind.IDENTITY, reason="No phone"
    )

    with pytest.raises(Http404):
        approval_decide(actor=outsider, approval=approval, approve=True, reason="Checked")


def test_a_read_only_auditor_cannot_start_a_verification(desk):
    auditor = make_staff(Role.READ_ONLY, username="audrey")

    with pytest.raises(PermissionDenied):
        identity_callback_attest(
            actor=auditor, ticket=desk.ticket, phone_number="+14155550101", confirmed=True
        )

    assert desk.events(IDENTITY)[-1]["result"] == "refused"


def test_knowledge_questions_are_not_a_method(desk):
    from enrollment.services import identity_verify

    with pytest.raises(IdentityRefused) as refused:
        identity_verify(actor=desk.technician, ticket=desk.ticket, method="knowledge")

    assert str(refused.value) == (
        "'knowledge' is not a way to verify a caller (knowledge questions never count)."
    )
    assert identity_current(desk.ticket) is None
