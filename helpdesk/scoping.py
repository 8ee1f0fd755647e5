"""Administrative-unit scoping, shared by every selector that reads end users.

A staff member bound to units sees end users who belong to at least one group of those
units; one bound to none, and every owner, is unrestricted. Out-of-scope objects are
reported as missing (404), never as forbidden, so their existence is not revealed.
"""

from django.db.models import Q

from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.roles import Role


def scoped_group_ids(staff: Staff) -> frozenset[int] | None:
    """The group ids a staff member is limited to, or None when unrestricted."""
    if staff.role == Role.OWNER:
        return None
    cached = getattr(staff, "_scoped_group_ids", False)
    if cached is not False:
        return cached
    rows = list(
        AdministrativeUnit.groups.through.objects.filter(
            administrativeunit__staff=staff
        ).values_list("group_id", flat=True)
    )
    has_units = rows or AdministrativeUnit.objects.filter(staff=staff).exists()
    result = frozenset(rows) if has_units else None
    staff._scoped_group_ids = result
    return result


def end_user_scope_q(staff: Staff, *, groups_path: str = "groups") -> Q:
    """A filter limiting a queryset of end users (or rows reaching them through
    `groups_path`) to what `staff` may see. Combine with `.distinct()` when the path
    crosses a many-to-many relation."""
    group_ids = scoped_group_ids(staff)
    if group_ids is None:
        return Q()
    if not group_ids:
        return Q(pk__in=[])
    return Q(**{f"{groups_path}__in": group_ids})
