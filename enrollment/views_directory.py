"""The end-user pages: the directory searched by name, username, email or phone, and one end
user's MFA picture the way the vendor consoles open it (status, enrollment, devices as the
service reports them, authenticators, the effective policy and why, the sign-in log with
filters, bypass codes without the codes, open fraud signals, their tickets).

Every staff role that reads tickets reads these (Capability.VIEW_TICKETS); an end user
outside the staff member's administrative units does not exist for them (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from enrollment import clock
from enrollment.labels import say
from enrollment.mfa import MFAServiceError
from enrollment.models import BypassCode, EndUser
from enrollment.selectors import end_user_get_visible, end_user_list_visible_to
from enrollment.services.directory_sync import end_user_sync
from helpdesk.models import Staff, Ticket
from helpdesk.roles import Capability
from helpdesk.selectors import end_user_mfa_picture

PAGE_SIZE = 50
# How many sign-ins the page asks the service for before filtering them.
LOG_LIMIT = 100


def _require(staff: Staff) -> None:
    if not staff.has_capability(Capability.VIEW_TICKETS):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


@require_GET
@login_required
def end_user_list(request: HttpRequest) -> HttpResponse:
    """Every end user in the staff member's units, searched by name, username, email or
    phone (the results partial under htmx)."""
    _require(request.user)
    query = request.GET.get("q", "").strip()[:100]
    users = list(end_user_list_visible_to(request.user, search=query)[: PAGE_SIZE + 1])
    context = {"query": query, "users": users[:PAGE_SIZE], "more": len(users) > PAGE_SIZE}
    template = "enrollment/directory/user_list.html"
    if _wants_partial(request):
        template += "#results"
    return render(request, template, context)


@dataclass(frozen=True)
class BypassSummary:
    usable: int
    used: int
    revoked: int
    expired: int
    latest_expiry: object
    issuers: list[str]


def _bypass_summary(end_user: EndUser) -> BypassSummary:
    """Counts, expiry and who issued them; never a code (only hashes exist anyway)."""
    now = clock.now()
    live = Q(used_at__isnull=True, revoked_at__isnull=True)
    figures = BypassCode.objects.filter(end_user=end_user).aggregate(
        usable=Count("pk", filter=live & Q(expires_at__gt=now)),
        used=Count("pk", filter=Q(used_at__isnull=False)),
        revoked=Count("pk", filter=Q(revoked_at__isnull=False)),
        expired=Count("pk", filter=live & Q(expires_at__lte=now)),
        latest_expiry=Max("expires_at", filter=live & Q(expires_at__gt=now)),
    )
    issuers = sorted(
        set(
            BypassCode.objects.filter(end_user=end_user, created_by__isnull=False).values_list(
                "created_by__username", flat=True
            )
        )
    )
    return BypassSummary(issuers=issuers, **figures)


def _filtered_log(entries: list, *, result: str, reason: str, factor: str) -> list:
    return [
        entry
        for entry in entries
        if (not result or entry.result == result)
        and (not reason or entry.reason == reason)
        and (not factor or entry.factor == factor)
    ]


def _choices(entries: list, attribute: str, vocabulary: str) -> list[tuple[str, str]]:
    values = sorted({getattr(entry, attribute) for entry in entries if getattr(entry, attribute)})
    return [(value, say(vocabulary, value)) for value in values]


@require_GET
@login_required
def end_user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One end user's MFA picture, their sign-in log (filtered by result, reason and
    factor), bypass codes in figures and their tickets, with 'open a ticket'."""
    _require(request.user)
    end_user = end_user_get_visible(request.user, pk)
    picture = end_user_mfa_picture(end_user, log_limit=LOG_LIMIT)
    wanted = {key: request.GET.get(key, "").strip()[:40] for key in ("result", "reason", "factor")}
    context = {
        "end_user": end_user,
        "picture": picture,
        "log": _filtered_log(picture.auth_log, **wanted),
        "wanted": wanted,
        "result_choices": _choices(picture.auth_log, "result", "auth_result"),
        "reason_choices": _choices(picture.auth_log, "reason", "auth_reason"),
        "factor_choices": _choices(picture.auth_log, "factor", "factor"),
        "bypass": _bypass_summary(end_user),
        "tickets": list(
            Ticket.objects.filter(end_user=end_user)
            .select_related("assignee")
            .order_by("-opened_at")[:20]
        ),
        "can_open_ticket": request.user.has_capability(Capability.WORK_TICKETS),
    }
    template = "enrollment/directory/user_detail.html"
    if _wants_partial(request):
        template += "#sign-ins"
    return render(request, template, context)


@require_POST
@login_required
def end_user_directory_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Imports this end user from the MFA service again (services that own the directory,
    such as privacyIDEA) and comes back to their page with what changed; with the
    simulator there is nothing to import and the page says so."""
    if not request.user.has_capability(Capability.WORK_TICKETS):
        raise PermissionDenied
    end_user = end_user_get_visible(request.user, pk)
    try:
        report = end_user_sync(end_user=end_user, actor=request.user)
        messages.info(request, report.summary())
    except MFAServiceError as exc:
        messages.error(request, f"Nothing was changed: {exc}")
    return redirect("enrollment:end-user-detail", pk=end_user.pk)
