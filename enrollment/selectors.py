"""Reads of the directory that views share, already scoped to the staff member's
administrative units (out-of-scope end users do not exist for them: 404)."""

from django.db.models import Q, QuerySet
from django.http import Http404

from enrollment import clock
from enrollment.models import ActivationLink, Authenticator, EndUser
from helpdesk.models import Staff
from helpdesk.scoping import end_user_scope_q

SEARCH_FIELDS = ("username", "full_name", "email", "mobile", "phone")


def end_user_list_visible_to(staff: Staff, *, search: str | None = None) -> QuerySet[EndUser]:
    """End users `staff` may see, ordered by username, groups prefetched.

    `search` matches any part of the username, full name, email, mobile or phone,
    case-insensitively. Each end user appears once however many of the staff member's
    groups they belong to: the unit filter runs in a subquery, not a join.
    """
    users = EndUser.objects.all()
    scope = end_user_scope_q(staff)
    if scope:
        users = users.filter(pk__in=EndUser.objects.filter(scope).values("pk"))
    term = (search or "").strip()
    if term:
        match = Q()
        for field in SEARCH_FIELDS:
            match |= Q(**{f"{field}__icontains": term})
        users = users.filter(match)
    return users.prefetch_related("groups").order_by("username")


def end_user_get_visible(staff: Staff, pk: int) -> EndUser:
    """One end user `staff` may see, groups prefetched.

    Raises Http404 when there is no such end user or they are outside the staff member's
    administrative units (the two are indistinguishable on purpose)."""
    try:
        return end_user_list_visible_to(staff).get(pk=pk)
    except EndUser.DoesNotExist:
        raise Http404("No such end user.") from None


def activation_link_current(*, authenticator: Authenticator) -> ActivationLink | None:
    """The authenticator's unexpired, unused activation link (the latest-expiring), if any."""
    return (
        ActivationLink.objects.filter(
            authenticator=authenticator, used_at__isnull=True, expires_at__gt=clock.now()
        )
        .order_by("-expires_at", "-id")
        .first()
    )
