"""Ticket queues, opening a ticket, the ticket page and its actions.

Every action is a plain form POST that redirects back to the ticket (works without
JavaScript); with htmx the same POST re-renders the page's ``ticket-main`` partial and fires
``ticket-changed``. Capability (403) first, then scope (404), in the view and again in the
service.
"""

from dataclasses import dataclass
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment.mfa import MFAServiceError
from enrollment.selectors import end_user_get_visible, end_user_list_visible_to
from enrollment.services.directory_sync import end_user_sync
from helpdesk.enums import (
    DEDICATED_TRANSITIONS,
    TRANSITIONS,
    EventKind,
    Outcome,
    RootCause,
    TicketStatus,
    Tier,
)
from helpdesk.forms_tickets import (
    QueueFilterForm,
    TicketAssignForm,
    TicketCommentForm,
    TicketEscalateForm,
    TicketOpenForm,
    TicketResolveForm,
    TicketStatusForm,
)
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.outbox import delayed_count_for
from helpdesk.roles import Capability
from helpdesk.selectors import (
    QUEUES,
    end_user_mfa_picture,
    ticket_assignee_choices,
    ticket_assignee_options,
    ticket_event_list,
    ticket_get_visible,
    ticket_list_visible_to,
)
from helpdesk.services import tickets as ticket_services
from helpdesk.services.tickets import TicketError
from helpdesk.templatetags.ticket_tags import event_summary, label, priority_badge, status_badge


def _require(staff: Staff, capability: Capability) -> None:
    if not staff.has_capability(capability):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


# One queue line, built in Python: at 25 rows per page, a dozen template variables per row
# cost more than the rest of the page. Every value that comes from people (subject, names) is
# escaped here; the rest are numbers, dates and our own labels and CSS classes.
_QUEUE_ROW = (
    '<tr><td><a href="{url}">#{number}</a></td><td><a href="{url}">{subject}</a></td>'
    '<td>{user_name} <span class="muted">{username}</span></td><td>{category}</td>'
    '<td><span class="badge {priority_badge}">{priority}</span></td>'
    '<td><span class="badge {status_badge}">{status}</span></td><td>{assignee}</td>'
    '<td><time datetime="{due_iso}">{due}</time></td></tr>'
).format
_UNASSIGNED = '<span class="muted">Unassigned</span>'


def _queue_rows(tickets: list[Ticket]) -> list[str]:
    # reverse() once; the per-row URL only swaps the number in.
    pattern = reverse("helpdesk:ticket-detail", kwargs={"pk": 987654321})
    rows = []
    for t in tickets:
        end_user, assignee = t.end_user, t.assignee
        row = _QUEUE_ROW(
            url=pattern.replace("987654321", str(t.pk)),
            number=t.pk,
            subject=escape(t.subject),
            user_name=escape(end_user.full_name or end_user.username),
            username=escape(end_user.username),
            category=escape(label(t.category, "category")),
            priority=escape(label(t.priority, "priority")),
            priority_badge=priority_badge(t.priority),
            status=escape(label(t.status, "status")),
            status_badge=status_badge(t.status),
            assignee=escape(assignee.get_full_name() or assignee.username)
            if assignee
            else _UNASSIGNED,
            due_iso=t.sla_due_at.isoformat(),
            due=t.sla_due_at.strftime("%b %d, %H:%M"),
        )
        rows.append(mark_safe(row))  # noqa: S308 - every value above is escaped or ours
    return rows


def _select(name: str, choices: list[tuple[str, str]], current: str) -> dict:
    return {"name": name, "options": [(v, text, v == current) for v, text in choices]}


@require_GET
@login_required
def ticket_queue(request: HttpRequest) -> HttpResponse:
    _require(request.user, Capability.VIEW_TICKETS)
    form = QueueFilterForm(request.GET)
    query = form.to_query()
    page = ticket_list_visible_to(request.user, query)
    base_url = reverse("helpdesk:ticket-queue")
    next_url = ""
    if page.next_after is not None:
        params = request.GET.copy()
        params["after"] = str(page.next_after)
        next_url = f"{base_url}?{params.urlencode()}"
    tabs = []
    for key, tab_label in QUEUES.items():
        params = request.GET.copy()
        params.pop("after", None)
        params["queue"] = key
        tabs.append(
            {
                "label": tab_label,
                "url": f"{base_url}?{params.urlencode()}",
                "current": key == query.queue,
            }
        )
    fields = form.fields
    context = {
        "query": query,
        "rows": _queue_rows(page.rows),
        "next_url": next_url,
        "tabs": tabs,
        "selects": [
            _select("status", fields["status"].choices, query.status),
            _select("category", fields["category"].choices, query.category),
            _select("priority", fields["priority"].choices, query.priority),
        ],
        "can_open": request.user.has_capability(Capability.WORK_TICKETS),
        "form": form,  # its errors, in the error summary
    }
    template = "helpdesk/tickets/queue.html"
    if _wants_partial(request):
        template += "#results"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def ticket_open(request: HttpRequest) -> HttpResponse:
    """GET ?find=… lists matching end users; GET ?end_user=<id> shows the form; POST opens."""
    _require(request.user, Capability.WORK_TICKETS)
    raw_id = request.POST.get("end_user") or request.GET.get("end_user")
    end_user = None
    if raw_id:
        if not str(raw_id).isdigit():
            raise Http404("No such end user.")
        end_user = end_user_get_visible(request.user, int(raw_id))
    find = request.GET.get("find", "").strip()[:100]
    matches = []
    if find and end_user is None:
        matches = list(end_user_list_visible_to(request.user, search=find)[:20])
    form = TicketOpenForm(request.POST or None)
    if request.method == "POST" and end_user is not None and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_services.ticket_open(
                actor=request.user,
                end_user=end_user,
                subject=data["subject"],
                category=data["category"],
                channel=data["channel"],
                priority=data["priority"],
                description=data["description"],
                assignee=request.user if data["assign_to_me"] else None,
            )
        except TicketError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Ticket #{ticket.pk} opened.")
            return redirect("helpdesk:ticket-detail", pk=ticket.pk)
    context = {"end_user": end_user, "form": form, "find": find, "matches": matches}
    return render(request, "helpdesk/tickets/open.html", context)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the ticket's timeline, formatted in Python like the queue's rows."""

    when_iso: str
    when: str
    who: str
    summary: str
    comment: str | None


def _timeline(events: list[TicketEvent]) -> list[TimelineEntry]:
    entries = []
    for event in events:
        at, actor = localtime(event.occurred_at), event.actor
        entries.append(
            TimelineEntry(
                when_iso=at.isoformat(),
                when=at.strftime("%Y-%m-%d %H:%M:%S"),
                who=(actor.get_full_name() or actor.username) if actor else "System",
                summary=event_summary(event.kind, event.payload),
                comment=event.payload.get("body", "")
                if event.kind == EventKind.COMMENTED
                else None,
            )
        )
    return entries


def _main_context(request: HttpRequest, ticket: Ticket, **overrides) -> dict:
    staff = request.user
    can_work = staff.has_capability(Capability.WORK_TICKETS)
    events = ticket_event_list(ticket)
    # The opener opened the ticket in its first event: its actor is already loaded.
    opener = next((e.actor for e in events if e.actor_id == ticket.opened_by_id), None)
    if opener is None:
        opener = ticket.opened_by
    context = {
        "ticket": ticket,
        "opened_by": opener.get_full_name() or opener.username,
        "timeline": _timeline(events),
        "can_work": can_work,
        "action_error": "",
        # Notifications (push, SMS, email notices) waiting for the broker to come back.
        "delayed_notifications": delayed_count_for(ticket.end_user_id),
    }
    if can_work:
        # Plain choice lists, rendered by hand in the template: Django's widget templates
        # cost more than the rest of the page's markup together.
        allowed = TRANSITIONS[ticket.status]
        context |= {
            "assignee_options": ticket_assignee_options(ticket),
            "next_statuses": [
                (s, TicketStatus(s).label)
                for s in TicketStatus.values
                if s in allowed and s not in DEDICATED_TRANSITIONS
            ],
            "can_escalate": TicketStatus.ESCALATED in allowed
            or ticket.status == TicketStatus.ESCALATED,
            "can_resolve": TicketStatus.RESOLVED in allowed,
            "tier_choices": [c for c in Tier.choices if c[0] > ticket.tier],
            "outcome_choices": Outcome.choices,
            "root_cause_choices": RootCause.choices,
        }
    return context | overrides


@require_GET
@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, Capability.VIEW_TICKETS)
    ticket = ticket_get_visible(request.user, pk)
    context = _main_context(request, ticket)
    template = "helpdesk/tickets/detail.html"
    if _wants_partial(request):
        template += "#ticket-main"
    return render(request, template, context)


@require_GET
@login_required
def ticket_mfa_picture(request: HttpRequest, pk: int) -> HttpResponse:
    """The end user's MFA picture for a ticket: the directory's facts and the MFA service's
    reports. The ticket page loads it after itself (htmx) so the header and the timeline do
    not wait for the service; without scripts its placeholder links here (a page of its own).
    """
    _require(request.user, Capability.VIEW_TICKETS)
    ticket = ticket_get_visible(request.user, pk)
    context = {"ticket": ticket, "picture": end_user_mfa_picture(ticket.end_user)}
    template = "helpdesk/tickets/mfa_picture.html"
    if _wants_partial(request):
        template += "#picture"
    return render(request, template, context)


@require_POST
@login_required
def ticket_directory_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Imports the ticket's end user from the MFA service again (services that own the
    directory, such as privacyIDEA), so the MFA picture shows their tokens as they stand.
    Plain POST: back to the ticket with a message; htmx: the picture again."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = ticket_get_visible(request.user, pk)
    try:
        report = end_user_sync(end_user=ticket.end_user, actor=request.user)
        note = report.summary()
    except MFAServiceError as exc:
        note = f"Nothing was changed: {exc}"
    if not _wants_partial(request):
        messages.info(request, note)
        return redirect("helpdesk:ticket-detail", pk=ticket.pk)
    ticket.end_user.refresh_from_db()
    context = {
        "ticket": ticket,
        "picture": end_user_mfa_picture(ticket.end_user),
        "refresh_note": note,
    }
    return render(request, "helpdesk/tickets/mfa_picture.html#picture", context)


def _act(request: HttpRequest, pk: int, form: "type", perform) -> HttpResponse:
    """The shared shape of every ticket action: checks, parse, call one service, respond."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = ticket_get_visible(request.user, pk)
    kwargs = {}
    if form is TicketAssignForm:
        # Fresh, not the cached menu: this is the moment of truth.
        kwargs["assignee_choices"] = [(s.pk, s.username) for s in ticket_assignee_choices(ticket)]
    bound = form(request.POST, **kwargs)
    error = ""
    if not bound.is_valid():
        error = "; ".join(
            f"{name}: {' '.join(errs)}" if name != "__all__" else " ".join(errs)
            for name, errs in bound.errors.items()
        )
    else:
        try:
            perform(ticket, bound.cleaned_data)
        except TicketError as exc:
            error = str(exc)
    if _wants_partial(request):
        ticket = ticket_get_visible(request.user, pk)
        response = render(
            request,
            "helpdesk/tickets/detail.html#ticket-main",
            _main_context(request, ticket, action_error=error),
        )
        if not error:
            response["HX-Trigger"] = "ticket-changed"
        return response
    if error:
        messages.error(request, error)
    return redirect("helpdesk:ticket-detail", pk=pk)


@require_POST
@login_required
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(ticket: Ticket, data: dict) -> None:
        assignee = None
        if data["assignee"] is not None:
            assignee = next(
                (s for s in ticket_assignee_choices(ticket) if s.pk == data["assignee"]), None
            )
            if assignee is None:
                raise TicketError("That person cannot take this ticket.")
        ticket_services.ticket_assign(
            actor=request.user,
            ticket=ticket,
            assignee=assignee,
            expected_version=data["version"],
        )

    return _act(request, pk, TicketAssignForm, perform)


@require_POST
@login_required
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(ticket: Ticket, data: dict) -> None:
        ticket_services.ticket_change_status(
            actor=request.user,
            ticket=ticket,
            status=data["status"],
            expected_version=data["version"],
            note=data["note"],
        )

    return _act(request, pk, TicketStatusForm, perform)


@require_POST
@login_required
def ticket_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(ticket: Ticket, data: dict) -> None:
        ticket_services.ticket_escalate(
            actor=request.user,
            ticket=ticket,
            reason=data["reason"],
            to_tier=data["to_tier"],
            expected_version=data["version"],
        )

    return _act(request, pk, TicketEscalateForm, perform)


@require_POST
@login_required
def ticket_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(ticket: Ticket, data: dict) -> None:
        ticket_services.ticket_resolve(
            actor=request.user,
            ticket=ticket,
            outcome=data["outcome"],
            root_causes=data["root_causes"],
            note=data["note"],
            expected_version=data["version"],
        )

    return _act(request, pk, TicketResolveForm, perform)


@require_POST
@login_required
def ticket_comment(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(ticket: Ticket, data: dict) -> None:
        ticket_services.ticket_comment(actor=request.user, ticket=ticket, body=data["body"])

    return _act(request, pk, TicketCommentForm, perform)
