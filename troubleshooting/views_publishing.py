"""Playbook publishing pages: the list of playbooks and versions with the linter's findings, one
version with its graph, a diff between two versions, and the writes (publish pasted or
uploaded YAML, publish the changed files on disk, retire, refuse deletion).

Reading serves PUBLISH_PLAYBOOKS and REVIEW_AUDIT (supervisors and auditors read what
sessions ran on); writing needs PUBLISH_PLAYBOOKS (owners, administrators). Playbooks are not
about end users, so no administrative-unit scoping applies. Plain POSTs redirect (PRG); a
publication is previewed first (lint verdict, diff against the current version) and published
by a second POST of the same text; one that does not lint re-renders the form with every
finding and the text kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.models import Staff
from troubleshooting.diff import definition_diff, source_diff
from troubleshooting.forms import ConfirmPublishForm, DiffForm, PublishForm
from troubleshooting.graph import playbook_drawing
from troubleshooting.models import Playbook, PlaybookVersion
from troubleshooting.publishing import (
    PublishPreview,
    VersionRow,
    can_publish_playbooks,
    can_view_playbooks,
    normalize_source,
    playbook_get,
    playbook_list_with_versions,
    playbook_publish_from_disk,
    playbook_publish_preview,
    playbook_publish_source,
    playbook_version_delete,
    playbook_version_detail,
    playbook_version_numbers,
    playbook_version_retire,
)
from troubleshooting.selectors import playbook_definition


def _require_view(staff: Staff) -> None:
    if not can_view_playbooks(staff):
        raise PermissionDenied


def _require_publish(staff: Staff) -> None:
    if not can_publish_playbooks(staff):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _version_or_404(slug: str, number: int) -> VersionRow:
    try:
        return playbook_version_detail(slug, number)
    except PlaybookVersion.DoesNotExist:
        raise Http404("No such playbook version.") from None


@require_GET
@login_required
def playbook_list(request: HttpRequest) -> HttpResponse:
    _require_view(request.user)
    context = {
        "rows": playbook_list_with_versions(),
        "can_publish": can_publish_playbooks(request.user),
    }
    return render(request, "troubleshooting/publishing/list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def playbook_publish(request: HttpRequest) -> HttpResponse:
    """Publishing takes two POSTs: the text is linted and previewed (its findings, or the
    version it would become and what changes), then the preview's "Publish version N"
    carries the same text back with its digest and is published."""
    _require_publish(request.user)
    if request.method == "POST" and "sha256" in request.POST:
        return _publish_confirmed(request)
    posted = request.method == "POST"
    form = PublishForm(request.POST if posted else None, request.FILES if posted else None)
    preview = None
    if posted and form.is_valid():
        preview = playbook_publish_preview(
            actor=request.user,
            source=form.cleaned_data["source"],
            source_file=form.cleaned_data["source_file"],
        )
        # Keep the text, uploaded or pasted, in the box so it can be changed and checked again.
        form = _kept(preview.source)
    return _render_publish(request, form, preview)


def _publish_confirmed(request: HttpRequest) -> HttpResponse:
    confirm = ConfirmPublishForm(request.POST)
    if not confirm.is_valid():
        source = normalize_source(request.POST.get("source", ""))
        preview = None
        if source.strip():
            preview = playbook_publish_preview(
                actor=request.user, source=source, source_file=request.POST.get("source_file", "")
            )
        problem = " ".join(str(error) for error in confirm.non_field_errors()) or (
            "The confirmation was incomplete, so nothing was published. Check the preview again."
        )
        return _render_publish(request, _kept(source), preview, problem=problem)
    data = confirm.cleaned_data
    result = playbook_publish_source(
        actor=request.user,
        source=data["source"],
        source_file=data["source_file"],
        expected_number=data["number"],
    )
    if not result.ok:
        preview = playbook_publish_preview(
            actor=request.user, source=data["source"], source_file=data["source_file"]
        )
        return _render_publish(request, _kept(data["source"]), preview, problem=result.conflict)
    version = result.version
    if result.published:
        messages.success(
            request,
            f"{version.playbook.slug} v{version.number} published: new sessions start on it.",
        )
    else:
        messages.info(
            request,
            f"Nothing to publish: {version.playbook.slug} v{version.number} already has this "
            "content.",
        )
    return redirect(
        "troubleshooting:playbook-version", slug=version.playbook.slug, number=version.number
    )


def _kept(source: str) -> PublishForm:
    form = PublishForm({"source": source})
    form.is_valid()
    return form


def _render_publish(
    request: HttpRequest,
    form: PublishForm,
    preview: PublishPreview | None,
    *,
    problem: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "preview": preview,
        "findings": preview.findings if preview else [],
        "problem": problem,
    }
    if preview is not None and preview.ok and not preview.unchanged:
        context["confirm"] = ConfirmPublishForm(
            initial={
                "source": preview.source,
                "source_file": preview.source_file,
                "sha256": preview.sha256,
                "number": preview.next_number,
            },
            auto_id=False,  # the text box above already has the id "id_source"
        )
    return render(request, "troubleshooting/publishing/publish.html", context)


@require_POST
@login_required
def playbook_sync(request: HttpRequest) -> HttpResponse:
    _require_publish(request.user)
    results = playbook_publish_from_disk(actor=request.user)
    for result in results:
        if result.status == "published":
            messages.success(request, f"{result.playbook} v{result.version} published from disk.")
        elif result.status == "invalid":
            messages.error(
                request,
                f"{result.file} not published: " + "; ".join(result.problems),
            )
    if all(result.status == "unchanged" for result in results):
        messages.info(request, "Every playbook file on disk is already published.")
    return redirect("troubleshooting:playbook-list")


@require_GET
@login_required
def playbook_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    _require_view(request.user)
    row = _version_or_404(slug, number)
    drawing = playbook_drawing(
        playbook_definition(row.version), content_hash=row.version.content_hash
    )
    context = {
        "row": row,
        "version": row.version,
        "graph": drawing.graph,
        "svg": drawing.svg,
        "numbers": playbook_version_numbers(row.version.playbook),
        "can_publish": can_publish_playbooks(request.user),
    }
    return render(request, "troubleshooting/publishing/version.html", context)


@require_POST
@login_required
def playbook_version_retire_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    _require_publish(request.user)
    version = _version_or_404(slug, number).version
    try:
        playbook_version_retire(actor=request.user, version=version)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{slug} v{number} retired: new sessions no longer start on it; sessions already "
            "on it carry on.",
        )
    return redirect("troubleshooting:playbook-version", slug=slug, number=number)


@require_POST
@login_required
def playbook_version_delete_view(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    _require_publish(request.user)
    version = _version_or_404(slug, number).version
    try:
        playbook_version_delete(actor=request.user, version=version)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("troubleshooting:playbook-version", slug=slug, number=number)


@require_GET
@login_required
def playbook_diff(request: HttpRequest, slug: str) -> HttpResponse:
    _require_view(request.user)
    try:
        playbook = playbook_get(slug)
    except Playbook.DoesNotExist:
        raise Http404("No such playbook.") from None
    numbers = playbook_version_numbers(playbook)
    if not numbers:
        raise Http404("This playbook has no version.")
    defaults = {"old": numbers[-2] if len(numbers) > 1 else numbers[0], "new": numbers[-1]}
    form = DiffForm(request.GET if "old" in request.GET else defaults, numbers=numbers)
    context: dict[str, Any] = {"playbook": playbook, "form": form, "numbers": numbers}
    if form.is_valid():
        old = _version_or_404(slug, form.cleaned_data["old"]).version
        new = _version_or_404(slug, form.cleaned_data["new"]).version
        context.update(
            old=old,
            new=new,
            diff=definition_diff(playbook_definition(old), playbook_definition(new)),
            source_lines=source_diff(
                old.source, new.source, old_name=f"v{old.number}", new_name=f"v{new.number}"
            ),
        )
    template = "troubleshooting/publishing/diff.html"
    if _wants_partial(request):
        template += "#diff-result"
    return render(request, template, context)
