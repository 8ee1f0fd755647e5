"""Small predicates about what a staff member may see and do with tickets.

Capabilities come from helpdesk.roles; administrative-unit scope from helpdesk.scoping.
Views and services both call these, so a missing ``{% if %}`` never opens a door.
"""

from helpdesk.models import Staff
from helpdesk.roles import Capability
from helpdesk.scoping import scoped_group_ids


def end_user_in_scope(staff: Staff, end_user_id: int) -> bool:
    """Whether the end user belongs to a group of one of the staff member's units (always
    true for unrestricted staff)."""
    group_ids = scoped_group_ids(staff)
    if group_ids is None:
        return True
    if not group_ids:
        return False
    from enrollment.models import EndUser

    return EndUser.groups.through.objects.filter(
        enduser_id=end_user_id, group_id__in=group_ids
    ).exists()


def can_view_tickets(staff: Staff) -> bool:
    return staff.has_capability(Capability.VIEW_TICKETS)


def can_work_tickets(staff: Staff) -> bool:
    return staff.has_capability(Capability.WORK_TICKETS)


def can_review_audit(staff: Staff) -> bool:
    return staff.has_capability(Capability.REVIEW_AUDIT)
