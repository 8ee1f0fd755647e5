"""Builders shared by the ticket and audit tests (plain functions, no hidden effects)."""

from enrollment.models import EndUser
from helpdesk.enums import Category, Channel, Priority
from helpdesk.models import Staff, Ticket
from helpdesk.services.tickets import ticket_open
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory


def end_user_in_unit_of(staff: Staff, username: str = "dana.lee") -> EndUser:
    """An end user in a group of a unit that `staff` is bound to."""
    group = GroupFactory(name=f"Group of {staff.username}")
    AdministrativeUnitFactory(name=f"Unit of {staff.username}", groups=[group], staff=[staff])
    return EndUserFactory(username=username, full_name="Dana Lee", groups=[group])


def open_ticket(
    actor: Staff,
    end_user: EndUser,
    *,
    subject: str = "Phone shows no prompt",
    priority: str = Priority.NORMAL,
    assignee: Staff | None = None,
) -> Ticket:
    return ticket_open(
        actor=actor,
        end_user=end_user,
        subject=subject,
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
        priority=priority,
        assignee=assignee,
    )
