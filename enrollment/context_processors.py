"""What every page's navigation needs from enrollment: the number of approval requests the
signed-in approver may decide, shown as a badge on "Approvals"."""

from functools import cache

from django.conf import settings
from django.http import HttpRequest

from enrollment.services import approvals_pending_count_for
from helpdesk.roles import Capability


def pending_approvals(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or (settings.STAFF_MFA_REQUIRED and not user.is_verified())
        or not user.has_capability(Capability.APPROVE_SENSITIVE)
    ):
        return {}
    # Called by the template only where the navigation is drawn, once: an htmx fragment,
    # which has no navigation, costs no query.
    return {"pending_approvals": cache(lambda: approvals_pending_count_for(user))}
