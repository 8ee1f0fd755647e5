"""The guided-session wizard: one card per node, the path so far beside it.

Plain forms with post/redirect/get work without JavaScript; with htmx every form swaps the
panel partial (`{% partialdef panel %}` in troubleshooting/_session_panel.html) in place.
A verify or identity push waits for the end user: the card polls every 2 s and the poll
answers 286 (htmx stops polling) once the wait is over. A bypass code is the one thing
never redirected to: it is rendered once, straight from the POST that issued it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from enrollment import clock
from enrollment import services as recovery
from enrollment.models import Application
from enrollment.services.identity import phone_numbers_of_record, push_devices
from helpdesk.models import Ticket
from helpdesk.permissions import end_user_in_scope
from helpdesk.roles import Capability
from troubleshooting import catalog, engine, kb
from troubleshooting.actions import ACTIONS
from troubleshooting.models import GuidedSession
from troubleshooting.schema import ActionNode, PlaybookDefinition, QuestionNode
from troubleshooting.selectors import playbook_definition, session_latest_for_ticket
from troubleshooting.sessions import (
    InputError,
    SessionError,
    action_authenticators,
    action_devices,
    session_abandon,
    session_advance,
    session_caller_report,
    session_frame,
    session_go_back,
    session_poll,
    session_start,
)

# htmx stops polling when a response carries this status.
STOP_POLLING = 286

PANEL = "troubleshooting/_session_panel.html"


def _require(request: HttpRequest) -> None:
    if not request.user.has_capability(Capability.WORK_TICKETS):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _ticket_visible(request: HttpRequest, ticket_pk: int) -> Ticket:
    ticket = Ticket.objects.select_related("end_user").filter(pk=ticket_pk).first()
    if ticket is None or not end_user_in_scope(request.user, ticket.end_user_id):
        raise Http404("No such ticket.")
    return ticket


def _session_visible(request: HttpRequest, pk: int) -> GuidedSession:
    session = (
        GuidedSession.objects.select_related("version__playbook", "ticket__end_user")
        .filter(pk=pk)
        .first()
    )
    if session is None or not end_user_in_scope(request.user, session.ticket.end_user_id):
        raise Http404("No such session.")
    return session


def panel_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """Everything the panel shows (marked by `guide=True`)."""
    session = session_latest_for_ticket(ticket.pk)
    context: dict[str, Any] = {"guide": True, "ticket": ticket, "session": session}
    if session is None:
        context["applications"] = list(
            Application.objects.order_by("name").values_list("name", flat=True)
        )
    else:
        frame = session_frame(session)
        definition, state = frame.definition, frame.state
        steps = list(
            session.steps.select_related("actor", "version__playbook").order_by("sequence")
        )
        definitions = {frame.version.pk: definition}
        for step in steps:
            step.readable = readable_evidence(step.evidence)
            step.check_id = _check_of(step, session, definitions)
        current = [s for s in steps if s.superseded_at is None]
        node = definition.node(state.node)
        context.update(
            definition=definition,
            frame=frame,
            steps=steps,
            current_steps=current,
            last_sequence=steps[-1].sequence if steps else 0,
            node=node,
            state=state,
            pending=session.state.get("pending"),
            waited=_waited(session.state.get("pending")),
            # The checks and decisions that ran since the last answered node.
            evidence=_recent_automatic(current),
            kb_links=kb.article_titles(list(node.kb)),
            reasoning=catalog.assess(state.facts, tried=state.pending_fixes),
            posted=extra.pop("posted", {}),
        )
        if session.is_active and isinstance(node, ActionNode):
            end_user = session.ticket.end_user
            context.update(
                action_spec=ACTIONS.get(node.action),
                authenticators=action_authenticators(end_user, node.action),
                devices=action_devices(end_user) if node.action == "mark_device_lost" else [],
            )
        if isinstance(node, QuestionNode):
            context["options"] = [
                (engine.answer_key(option.value), option.label) for option in node.options
            ]
        if session.is_active and isinstance(node, ActionNode) and node.action == "verify_identity":
            end_user = session.ticket.end_user
            context.update(
                numbers=phone_numbers_of_record(end_user),
                push_devices=push_devices(end_user),
                identity_current=recovery.identity_current(session.ticket),
            )
    context.update(extra)
    return context


def _waited(pending: dict[str, Any] | None) -> str:
    """How long the card has waited on the end user, in words ("1 min 05 s")."""
    if not pending or not pending.get("since"):
        return ""
    try:
        since = datetime.fromisoformat(pending["since"])
    except ValueError:
        return ""
    seconds = max(0, int((clock.now() - since).total_seconds()))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _check_of(step, session: GuidedSession, definitions: dict[int, PlaybookDefinition]) -> str:
    """The check a check step ran (its finding reads by check and outcome); a step inside
    a subflow belongs to the version that subflow pinned."""
    if step.kind != "check":
        return ""
    version_id = step.version_id or session.version_id
    if version_id not in definitions:
        definitions[version_id] = playbook_definition(step.version or session.version)
    node = definitions[version_id].node_map().get(step.node)
    return getattr(node, "check", "") or ""


# --- Evidence, readably ---------------------------------------------------------------------------

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_MAX_DEPTH = 3
# Evidence keys whose plain English is not just the key with spaces.
_LABELS = {
    "os_version": "OS version",
    "min_os_version": "Minimum OS version",
    "app_version": "App version",
    "min_app_version": "Minimum app version",
    "sms": "SMS",
    "url": "URL",
    "id": "ID",
}


@dataclass(frozen=True)
class Shown:
    """One evidence value as the card shows it: `kind` is text, time, yes_no, none, list
    (value: a list of Shown without labels) or map (value: a list of labelled Shown)."""

    label: str
    kind: str
    value: Any


def label_for(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _shown(label: str, value: Any, depth: int) -> Shown:
    if value is None or value == "" or value == [] or value == {}:
        return Shown(label, "none", None)
    if isinstance(value, bool):
        return Shown(label, "yes_no", value)
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return Shown(label, "time", datetime.fromisoformat(value))
        except ValueError:
            pass
    if depth >= _MAX_DEPTH and isinstance(value, dict | list):
        return Shown(label, "text", json.dumps(value, sort_keys=True, default=str))
    if isinstance(value, dict):
        return Shown(label, "map", readable_evidence(value, depth=depth + 1))
    if isinstance(value, list | tuple):
        return Shown(label, "list", [_shown("", item, depth + 1) for item in value])
    return Shown(label, "text", str(value))


def readable_evidence(evidence: Any, *, depth: int = 0) -> list[Shown]:
    """A step's evidence (JSON) as labelled values: keys in plain words, lists as lists,
    ISO times as times, nested mappings as nested lists of labelled values."""
    if not isinstance(evidence, dict):
        return [_shown("", evidence, depth)] if evidence not in (None, "") else []
    return [_shown(label_for(key), value, depth) for key, value in evidence.items()]


def _recent_automatic(current: list) -> list:
    recent = []
    for step in reversed(current):
        if step.kind not in ("check", "decide"):
            break
        recent.append(step)
    return list(reversed(recent))


def _render_panel(
    request: HttpRequest, ticket: Ticket, *, status: int = 200, **extra: Any
) -> HttpResponse:
    template = f"{PANEL}#panel" if _wants_partial(request) else "troubleshooting/session.html"
    return render(request, template, panel_context(request, ticket, **extra), status=status)


def _after_post(request: HttpRequest, ticket: Ticket, error: str = "") -> HttpResponse:
    if _wants_partial(request):
        response = _render_panel(request, ticket, error=error)
        response["HX-Trigger"] = "ticket-changed"
        return response
    if error:
        messages.error(request, error)
    return redirect("troubleshooting:ticket", ticket_pk=ticket.pk)


@require_GET
@login_required
def ticket_session(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """The ticket's guided session: start, the current card, or how it ended."""
    _require(request)
    ticket = _ticket_visible(request, ticket_pk)
    return _render_panel(request, ticket)


@require_POST
@login_required
def start(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    _require(request)
    ticket = _ticket_visible(request, ticket_pk)
    application = request.POST.get("application", "").strip()
    if application and not Application.objects.filter(name=application).exists():
        return _after_post(request, ticket, "Choose an application from the list.")
    try:
        session_start(actor=request.user, ticket=ticket, application=application)
    except SessionError as exc:
        return _after_post(request, ticket, str(exc))
    return _after_post(request, ticket)


_INPUTS = (
    "reason",
    "method",
    "phone_number",
    "device_id",
    "passcode",
    "note",
    "authenticator_id",
    "first_code",
    "second_code",
    "token_serial",
    "mobile_number",
)
# Inputs never echoed back into a re-rendered card (one-time values).
_NOT_ECHOED = frozenset({"passcode"})


@require_POST
@login_required
def advance(request: HttpRequest, pk: int) -> HttpResponse:
    """Answers or runs the card's node (`node` names it, so a stale form is refused)."""
    _require(request)
    session = _session_visible(request, pk)
    inputs: dict[str, Any] = {name: request.POST.get(name, "") for name in _INPUTS}
    inputs["confirmed"] = request.POST.get("confirmed") == "on"
    after = request.POST.get("after", "")
    try:
        driver = session_advance(
            actor=request.user,
            session=session,
            node=request.POST.get("node") or None,
            value=request.POST.get("value") or None,
            inputs=inputs,
            after=int(after) if after.isdigit() else None,
        )
    except InputError as exc:
        # The same card again, with the message and everything entered (with or without
        # JavaScript): nothing was recorded and nothing is lost.
        posted = {k: v for k, v in inputs.items() if k not in _NOT_ECHOED}
        return _render_panel(request, session.ticket, error=str(exc), posted=posted)
    except SessionError as exc:
        return _after_post(request, session.ticket, str(exc))
    code = getattr(driver, "revealed_code", None)
    if code:
        # Shown once, from this response only; never stored, never redirected to.
        response = _render_panel(request, session.ticket, bypass_code=code, bypass_codes=[code])
        response["Cache-Control"] = "no-store"
        return response
    return _after_post(request, session.ticket)


@require_GET
@login_required
def poll(request: HttpRequest, pk: int) -> HttpResponse:
    """Whether the end user answered: the panel, 286 once the wait is over."""
    _require(request)
    session = _session_visible(request, pk)
    waiting = False
    error = ""
    if session.is_active:
        try:
            waiting = session_poll(actor=request.user, session=session)
        except SessionError as exc:
            error = str(exc)
    if not _wants_partial(request):
        return redirect("troubleshooting:ticket", ticket_pk=session.ticket_id)
    # `polled`: a re-render every 2 s leaves the focus where the technician put it.
    return _render_panel(
        request,
        session.ticket,
        status=200 if waiting else STOP_POLLING,
        error=error,
        polled=waiting,
    )


@require_POST
@login_required
def back(request: HttpRequest, pk: int) -> HttpResponse:
    """Goes back to an earlier step to answer it again (later steps are superseded)."""
    _require(request)
    session = _session_visible(request, pk)
    try:
        sequence = int(request.POST.get("sequence", ""))
        session_go_back(actor=request.user, session=session, sequence=sequence)
    except ValueError:
        return _after_post(request, session.ticket, "Choose a step to go back to.")
    except SessionError as exc:
        return _after_post(request, session.ticket, str(exc))
    return _after_post(request, session.ticket)


@require_POST
@login_required
def abandon(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    session = _session_visible(request, pk)
    try:
        session_abandon(actor=request.user, session=session, reason=request.POST.get("reason", ""))
    except SessionError as exc:
        return _after_post(request, session.ticket, str(exc))
    return _after_post(request, session.ticket)


@require_POST
@login_required
def caller_report(request: HttpRequest, pk: int) -> HttpResponse:
    """While a test sign-in waits: the caller saw nothing, or denied it (no waiting out the
    service's timeout)."""
    _require(request)
    session = _session_visible(request, pk)
    try:
        session_caller_report(
            actor=request.user, session=session, report=request.POST.get("report", "")
        )
    except SessionError as exc:
        return _after_post(request, session.ticket, str(exc))
    return _after_post(request, session.ticket)


@require_POST
@login_required
def bypass_given(request: HttpRequest, pk: int) -> HttpResponse:
    """ "I have given this code to the caller", from the card that showed it: recorded on the
    ticket's trail (enrollment's service), confirmed where the code was."""
    _require(request)
    session = _session_visible(request, pk)
    try:
        recovery.bypass_codes_handed_over(actor=request.user, ticket=session.ticket)
    except recovery.RecoveryRefused as refusal:
        return _after_post(request, session.ticket, refusal.message)
    message = "Recorded on the ticket: the code was given to the caller."
    if _wants_partial(request):
        response = _render_panel(request, session.ticket, result=message)
        response["HX-Trigger"] = "ticket-changed"
        return response
    messages.success(request, message)
    return redirect("troubleshooting:ticket", ticket_pk=session.ticket_id)


# --- Knowledge base ----------------------------------------------------------------------------


@require_GET
@login_required
def kb_list(request: HttpRequest) -> HttpResponse:
    """Every article, or those matching the search box (the results partial under htmx)."""
    query = request.GET.get("q", "").strip()[:200]
    context = {"query": query, "articles": kb.article_list(query)}
    template = "troubleshooting/kb_list.html"
    if _wants_partial(request):
        template += "#results"
    return render(request, template, context)


@require_GET
@login_required
def kb_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = kb.article_get(slug)
    if article is None:
        raise Http404("No such article.")
    return render(request, "troubleshooting/kb_article.html", {"article": article})
