"""Small predicates about what a staff member may see and do with tickets.

Capabilities come from helpdesk.roles; administrative-unit scope from helpdesk.scoping.
Views and services both call these, so a missing ``{% if %}`` never opens a door.
"""

from collections.abc import Iterable

from helpdesk.models import AdministrativeUnit, Staff
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


def bound_unit_ids(staff: Staff) -> frozenset[int] | None:
    """The administrative units `staff` is bound to, or None when unrestricted (an owner,
    or bound to no unit). Cached on the object for the request."""
    if staff.role == Role.OWNER:
        return None
    cached = getattr(staff, "_bound_unit_ids", False)
    if cached is not False:
        return cached
    ids = frozenset(AdministrativeUnit.objects.filter(staff=staff).values_list("pk", flat=True))
    staff._bound_unit_ids = ids or None
    return staff._bound_unit_ids


def units_within_reach(actor: Staff, units: Iterable[AdministrativeUnit]) -> bool:
    """Whether `actor` may bind someone to exactly `units`: anyone unrestricted may; a
    unit-bound actor only to one or more of their own units (never to none, which would
    leave that person unrestricted)."""
    bound = bound_unit_ids(actor)
    if bound is None:
        return True
    ids = {unit.pk for unit in units}
    return bool(ids) and ids <= bound


def groups_within_reach(actor: Staff, group_ids: Iterable[int]) -> bool:
    """Whether `actor` may put these groups in a unit: a unit-bound actor only groups of
    their own units, so nobody widens their own (or anyone's) reach."""
    scope = scoped_group_ids(actor)
    return scope is None or set(group_ids) <= scope


def can_manage_staff_member(actor: Staff, target: Staff | None) -> bool:
    """Whether `actor` may change `target` (None: a staff member yet to be created).

    Nobody but an owner changes themselves or anyone at or above their own rank, and a
    unit-bound actor changes only staff bound within their own units. Reads `target`'s
    units through `administrative_units.all()` (prefetch it for lists)."""
    if actor.has_capability(Capability.MANAGE_ADMINISTRATORS):
        return True
    if not actor.has_capability(Capability.MANAGE_STAFF):
        return False
    if target is None:
        return True
    if target.pk == actor.pk or RANK[target.role] <= RANK[actor.role]:
        return False
    return units_within_reach(actor, target.administrative_units.all())
