"""Supervisor audit review: filter the trail, export it as CSV, see and refresh the chain
verification status."""

import csv
import io
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from helpdesk.enums import EventKind
from helpdesk.forms_tickets import AuditFilterForm
from helpdesk.models import AuditVerification, Staff
from helpdesk.outbox import enqueue
from helpdesk.roles import Capability
from helpdesk.selectors import (
    audit_actor_choices,
    audit_event_list_visible_to,
    audit_event_rows_visible_to,
)
from helpdesk.tasks import verify_audit_chains
from helpdesk.templatetags.ticket_tags import event_summary


def _require_reviewer(staff: Staff) -> None:
    if not staff.has_capability(Capability.REVIEW_AUDIT):
        raise PermissionDenied


@require_GET
@login_required
def audit_review(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request.user)
    form = AuditFilterForm(request.GET, actor_choices=audit_actor_choices())
    query = form.to_query()
    page = audit_event_list_visible_to(request.user, query)
    params = request.GET.copy()
    params.pop("after", None)
    export_url = f"{reverse('helpdesk:audit-export')}?{params.urlencode()}"
    next_url = ""
    if page.next_after is not None:
        params["after"] = str(page.next_after)
        next_url = f"{reverse('helpdesk:audit-review')}?{params.urlencode()}"
    context = {
        "form": form,
        "page": page,
        "next_url": next_url,
        "export_url": export_url,
        "verification": AuditVerification.objects.order_by("-id").first(),
    }
    template = "helpdesk/audit/review.html"
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template += "#results"
    return render(request, template, context)


# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _export_summary(kind: str, payload: dict | None) -> str:
    """The review's line; an internal comment carries its whole text (the page shortens it)."""
    summary = event_summary(kind, payload)
    if kind == EventKind.COMMENTED and (payload or {}).get("body"):
        summary = f"{summary}: {payload['body']}"
    return summary


# Rows per chunk handed to the response: one write per row costs more than the row itself.
_ROWS_PER_CHUNK = 500


def _csv_rows(events: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["event_id", "occurred_at", "ticket", "stream", "seq", "kind", "actor", "end_user",
         "summary", "hash", "prev_hash"]
    )  # fmt: skip
    pending = 0
    for (
        pk,
        occurred_at,
        ticket_id,
        stream,
        seq,
        kind,
        actor,
        end_user,
        payload,
        digest,
        prev,
    ) in events:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    pk,
                    occurred_at.isoformat(),
                    ticket_id or "",
                    f"ticket:{ticket_id}" if ticket_id is not None else stream,
                    seq,
                    kind,
                    actor or "system",
                    end_user or "",
                    _export_summary(kind, payload),
                    digest,
                    prev,
                )
            ]
        )
        pending += 1
        if pending >= _ROWS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


@require_GET
@login_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered trail as CSV, streamed row by row so a large export never sits in memory."""
    _require_reviewer(request.user)
    form = AuditFilterForm(request.GET, actor_choices=audit_actor_choices())
    events = audit_event_rows_visible_to(request.user, form.to_query())
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


@require_POST
@login_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Queues a full chain verification (runs in-process without a broker)."""
    _require_reviewer(request.user)
    enqueue(verify_audit_chains)
    messages.success(request, "Chain verification started; the result shows here when done.")
    return redirect("helpdesk:audit-review")
