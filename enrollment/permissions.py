"""Small predicates about what a staff member may do in the directory's recovery actions.

Views use them to decide what to offer; the services check the same rules again (and more:
identity, fraud, approvals, rate limits) in enrollment.services.guards.
"""

from enrollment.models import EndUser
from helpdesk.models import Staff
from helpdesk.roles import Capability


def can_perform_recovery(staff: Staff) -> bool:
    return staff.has_capability(Capability.RECOVERY_ACTIONS)


def can_verify_identity(staff: Staff) -> bool:
    return staff.has_capability(Capability.WORK_TICKETS)


def can_approve(staff: Staff) -> bool:
    return staff.has_capability(Capability.APPROVE_SENSITIVE)


def is_own_account(staff: Staff, end_user: EndUser) -> bool:
    """Whether the end user is the staff member themself: decided by the explicit link an
    administrator set (Staff.directory_identity, helpdesk.services.staff
    .staff_link_directory_identity), never by comparing names or addresses, which a
    look-alike account ("dana.lee2", a changed email) would slip past."""
    return staff.directory_identity_id is not None and staff.directory_identity_id == end_user.pk
