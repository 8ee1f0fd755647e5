"""Bulk enrollment pages: end users pending enrollment, starting a reminder or reset for
them, and the job's live progress.

BULK_ENROLLMENT (owners, administrators, user managers, as the vendor lets them manage
users) may use every page; everything is scoped to the viewer's administrative units, and a
job of another unit is a 404. The job page polls its progress fragment every 2 s; the
fragment answers 286 once the job finished, which stops htmx polling. Without JavaScript the
page offers a refresh link.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from enrollment.bulk import bulk_job_get_visible, bulk_job_list_visible_to, pending_end_users
from enrollment.enums import BulkItemState, EnrollmentStage
from enrollment.forms_bulk import BulkFilterForm, BulkStartForm
from enrollment.services.bulk import BulkJobRefused, bulk_job_resume, bulk_job_start, max_users
from helpdesk.models import Staff
from helpdesk.roles import Capability

LIST_LIMIT = 100
STOP_POLLING = 286
STAGE_LABELS = dict(EnrollmentStage.choices)
FILTER_FIELDS = ("group", "application", "invited_before", "stage", "link")


def _require(staff: Staff) -> None:
    if not staff.has_capability(Capability.BULK_ENROLLMENT):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _filter_query(data: QueryDict) -> str:
    """The filters alone, as a query string (for links back to the same list)."""
    kept = QueryDict(mutable=True)
    for name in FILTER_FIELDS:
        if data.get(name):
            kept[name] = data[name]
    return kept.urlencode()


def _page(
    request: HttpRequest,
    filter_form: BulkFilterForm,
    start_form: BulkStartForm | None = None,
    error: str = "",
) -> HttpResponse:
    staff = request.user
    filters = filter_form.to_filter() if filter_form.is_valid() else None
    rows, count = [], 0
    if filters is not None:
        users = pending_end_users(staff, filters)
        rows = list(users[:LIST_LIMIT])
        for row in rows:  # the annotation is the stored value; people read the label
            row.stage_label = STAGE_LABELS.get(row.stage_reached, "Not started")
        count = len(rows) if len(rows) < LIST_LIMIT else users.count()
    if start_form is None:
        start_form = BulkStartForm(
            initial={"confirmed_count": count, **filter_form.data.dict()}, staff=staff
        )
    context = {
        "filter_form": filter_form,
        "start_form": start_form,
        "rows": rows,
        "count": count,
        "shown": len(rows),
        "max_users": max_users(),
        "query": _filter_query(filter_form.data),
        "hidden_filters": [
            (name, filter_form.data[name]) for name in FILTER_FIELDS if filter_form.data.get(name)
        ],
        "error": error,
    }
    if _wants_partial(request) and request.method == "GET":
        return render(request, "enrollment/bulk/pending.html#results", context)
    context["jobs"] = bulk_job_list_visible_to(staff, limit=10)
    return render(request, "enrollment/bulk/pending.html", context)


@require_GET
@login_required
def bulk_pending(request: HttpRequest) -> HttpResponse:
    """The pending list with its filters and count, the start form, the latest jobs; the
    results fragment for an htmx filter change."""
    _require(request.user)
    return _page(request, BulkFilterForm(request.GET, staff=request.user))


@require_POST
@login_required
def bulk_start(request: HttpRequest) -> HttpResponse:
    """Starts a job for the filtered list and redirects to its page; re-renders the list
    with the reason when the form is incomplete or the job is refused."""
    _require(request.user)
    staff = request.user
    form = BulkStartForm(request.POST, staff=staff)
    filter_form = BulkFilterForm(request.POST, staff=staff)
    if not form.is_valid():
        return _page(request, filter_form, form)
    try:
        job = bulk_job_start(
            actor=staff,
            action=form.cleaned_data["action"],
            filters=form.to_filter(),
            reason=form.cleaned_data["reason"],
            confirmed_count=form.cleaned_data["confirmed_count"],
        )
    except BulkJobRefused as refused:
        return _page(request, filter_form, form, error=str(refused))
    return redirect("enrollment:bulk-job", pk=job.pk)


@require_GET
@login_required
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's page: progress, then results (counts and each failure with its reason).
    For htmx, the progress fragment: 200 while it runs, 286 once it finished."""
    _require(request.user)
    job = bulk_job_get_visible(request.user, pk)
    failures = []
    if job.is_finished:
        failures = list(
            job.items.filter(state=BulkItemState.FAILED)
            .select_related("end_user")
            .order_by("end_user__username")
        )
    context = {
        "job": job,
        "failures": failures,
        "percent": round(100 * job.processed / job.total) if job.total else 100,
    }
    if _wants_partial(request):
        status = STOP_POLLING if job.is_finished else 200
        return render(request, "enrollment/bulk/job.html#progress", context, status=status)
    return render(request, "enrollment/bulk/job.html", context)


@require_POST
@login_required
def bulk_job_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Enqueues an unfinished job again and returns to its page."""
    _require(request.user)
    job = bulk_job_get_visible(request.user, pk)
    if bulk_job_resume(actor=request.user, job=job):
        messages.info(request, "Job resumed: end users already processed are skipped.")
    else:
        messages.info(request, "The job has already finished.")
    return redirect("enrollment:bulk-job", pk=job.pk)
