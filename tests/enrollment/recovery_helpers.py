"""A small helpdesk world for the recovery-action tests: a unit, its technician and
supervisors, an end user with an active push phone, and an open ticket about them.

Everything goes through the real services and the real MFA service (authsim)."""

from dataclasses import dataclass

import pytest

from authsim.models import SimDevice
from enrollment.enums import ApprovalKind
from enrollment.models import Authenticator, Device, EndUser, Group
from enrollment.services import (
    approval_decide,
    approval_request_create,
    identity_callback_attest,
)
from helpdesk.enums import Category, Channel, EventKind
from helpdesk.models import AdministrativeUnit, Staff, Ticket, TicketEvent
from helpdesk.roles import Role
from helpdesk.services.tickets import ticket_open
from tests.conftest import make_staff
from tests.factories import (
    AdministrativeUnitFactory,
    AuthenticatorFactory,
    DeviceFactory,
    EndUserFactory,
    GroupFactory,
)


@dataclass
class Desk:
    group: Group
    unit: AdministrativeUnit
    technician: Staff
    colleague: Staff  # a second technician in the same unit
    supervisor: Staff
    owner: Staff
    end_user: EndUser
    phone: Device
    push: Authenticator
    ticket: Ticket

    def events(self, kind: str = EventKind.RECOVERY_ACTION) -> list[dict]:
        return list(
            TicketEvent.objects.filter(ticket=self.ticket, kind=kind)
            .order_by("seq")
            .values_list("payload", flat=True)
        )

    def last_event(self, kind: str = EventKind.RECOVERY_ACTION) -> TicketEvent:
        return TicketEvent.objects.filter(ticket=self.ticket, kind=kind).order_by("-seq").first()


def build_desk(*, privileged: bool = False) -> Desk:
    group = GroupFactory(name="Sales", privileged=privileged)
    technician = make_staff(Role.HELPDESK, username="tina.tech")
    colleague = make_staff(Role.HELPDESK, username="colin.tech")
    supervisor = make_staff(Role.SUPERVISOR, username="sam.super")
    owner = make_staff(Role.OWNER, username="olive.owner")
    unit = AdministrativeUnitFactory(
        name="Sales desk", groups=[group], staff=[technician, colleague, supervisor]
    )
    end_user = EndUserFactory(
        username="dana.lee",
        full_name="Dana Lee",
        email="dana.lee@example.com",
        mobile="+14155550101",
        phone="+14155550199",
        groups=[group],
    )
    phone = DeviceFactory(end_user=end_user, name="Dana's iPhone", push_capable=True)
    # The simulator's side of the phone: a healthy handset with the app installed.
    SimDevice.objects.create(device=phone, app_version=phone.app_version)
    push = AuthenticatorFactory(end_user=end_user, device=phone, method="push", status="active")
    ticket = ticket_open(
        actor=technician,
        end_user=end_user,
        subject="Lost access",
        category=Category.LOCKED_OUT,
        channel=Channel.PHONE,
    )
    return Desk(
        group, unit, technician, colleague, supervisor, owner, end_user, phone, push, ticket
    )


@pytest.fixture(name="desk")
def desk_fixture(db) -> Desk:
    return build_desk()


@pytest.fixture(name="privileged_desk")
def privileged_desk_fixture(db) -> Desk:
    return build_desk(privileged=True)


def verify_caller(desk: Desk, staff: Staff | None = None):
    """A callback to the mobile number of record, attested."""
    return identity_callback_attest(
        actor=staff or desk.technician,
        ticket=desk.ticket,
        phone_number=desk.end_user.mobile,
        confirmed=True,
    )


def second_approval(desk: Desk, action: str, *, requester: Staff | None = None):
    """A second approval of `action` requested by the technician, approved by the
    supervisor."""
    approval = approval_request_create(
        actor=requester or desk.technician,
        ticket=desk.ticket,
        kind=ApprovalKind.ACTION,
        action=action,
        reason="Privileged account, caller verified by callback",
    )
    return approval_decide(
        actor=desk.supervisor, approval=approval, approve=True, reason="Checked the ticket"
    )


def guard_map(payload: dict) -> dict[str, bool]:
    return {g["name"]: g["passed"] for g in payload["guards"]}
