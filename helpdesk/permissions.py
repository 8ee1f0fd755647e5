"""Small predicates about what a staff member may see and do with tickets.

Capabilities come from helpdesk.roles; administrative-unit scope from helpdesk.scoping.
Views and services both call these, so a missing ``{% if %}`` never opens a door.
"""

from helpdesk.models import Staff
from helpdesk.roles import RANK, Capability, Role
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


# --- Staff management: one rule shared by the staff pages and the Django admin --------------------


def assignable_roles(actor: Staff) -> list[tuple[str, str]]:
    """Roles `actor` may give (to a new or an existing staff member): an owner any role;
    anyone else with MANAGE_STAFF only roles strictly below their own, so nobody raises
    anyone (themselves included) to or above their own rank."""
    if not actor.has_capability(Capability.MANAGE_STAFF):
        return []
    if actor.has_capability(Capability.MANAGE_ADMINISTRATORS):
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if RANK[value] > RANK[actor.role]]


def can_assign_role(actor: Staff, role: str) -> bool:
    return role in {value for value, _ in assignable_roles(actor)}


def can_manage_staff_member(actor: Staff, target: Staff | None) -> bool:
    """Whether `actor` may change `target` (None: a staff member yet to be created).

    Nobody but an owner changes themselves or anyone at or above their own rank."""
    if actor.has_capability(Capability.MANAGE_ADMINISTRATORS):
        return True
    if not actor.has_capability(Capability.MANAGE_STAFF):
        return False
    if target is None:
        return True
    return target.pk != actor.pk and RANK[target.role] > RANK[actor.role]
