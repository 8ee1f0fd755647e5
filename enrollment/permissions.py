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
    """Whether the end user is (by username or email) the staff member themself.

    Compared case-insensitively; blank emails never match, so two accounts without an email
    are not taken for the same person."""
    if staff.username and staff.username.casefold() == end_user.username.casefold():
        return True
    staff_email = (staff.email or "").strip().casefold()
    return bool(staff_email) and staff_email == (end_user.email or "").strip().casefold()
