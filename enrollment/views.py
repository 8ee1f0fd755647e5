"""The recovery actions panel of a ticket, identity verification, and the supervisors'
approvals queue.

Every action is a real form: a plain POST redirects back to the panel (PRG) or, when a guard
refuses, re-renders it with the message; with htmx the same POST re-renders the panel partial
and fires `ticket-changed`. The one exception to PRG is issuing a bypass code: the response
that issues it is the only place the code is ever shown, so it is rendered directly and
marked no-store. A pending verification push polls every 2 s and stops with status 286.

Capability (403) and administrative unit (404) are checked here — with the refusal recorded
on the ticket — and again in the services.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from enrollment import clock, forms, services
from enrollment.enums import (
    ApprovalKind,
    ApprovalStatus,
    AuthenticatorStatus,
    Method,
    UserStatus,
    VerificationMethod,
    VerificationStatus,
)
from enrollment.labels import say
from enrollment.mfa import get_mfa_service, not_offered_reason
from enrollment.models import ApprovalRequest, BypassCode, IdentityVerification
from enrollment.permissions import can_perform_recovery, can_verify_identity
from enrollment.services.approvals import approval_contexts
from enrollment.services.events import RecoveryActionPayload, recovery_event_record
from enrollment.services.guards import ACTIONS, GuardResult, RecoveryRefused, enforce_access
from enrollment.services.identity import phone_numbers_of_record, push_devices
from helpdesk.enums import EventKind, Tier
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.permissions import end_user_in_scope
from helpdesk.roles import Capability
from helpdesk.services.tickets import TicketError, ticket_escalate

# htmx stops polling when a response carries this status.
STOP_POLLING = 286


def _require(staff: Staff, capability: Capability) -> None:
    if not staff.has_capability(capability):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _ticket_visible(staff: Staff, ticket_pk: int) -> Ticket:
    ticket = Ticket.objects.select_related("end_user").filter(pk=ticket_pk).first()
    if ticket is None or not end_user_in_scope(staff, ticket.end_user_id):
        raise Http404("No such ticket.")
    return ticket


def panel_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """Everything `enrollment/_ticket_actions.html` shows (marked by `recovery=True`)."""
    staff = request.user
    end_user = ticket.end_user
    authenticators = list(
        end_user.authenticators.exclude(status=AuthenticatorStatus.REVOKED).select_related("device")
    )
    live_devices = [d for d in end_user.devices.all() if d.lost_at is None]
    context = {
        "recovery": True,
        "ticket": ticket,
        "end_user": end_user,
        "is_privileged": end_user.is_privileged,
        "is_locked_out": end_user.status == UserStatus.LOCKED_OUT,
        "can_verify": can_verify_identity(staff),
        "can_act": can_perform_recovery(staff),
        "identity": services.identity_current(ticket),
        "pending_push": IdentityVerification.objects.filter(
            ticket=ticket, method=VerificationMethod.PUSH, status=VerificationStatus.PENDING
        )
        .select_related("device")
        .first(),
        "push_devices": push_devices(end_user),
        # What the MFA service cannot do is not offered (the reason is shown instead).
        "push_not_offered": not_offered_reason("identity_push_send", get_mfa_service()),
        "numbers": phone_numbers_of_record(end_user),
        "pending_authenticators": [
            a for a in authenticators if a.status == AuthenticatorStatus.PENDING_ACTIVATION
        ],
        "resettable": [
            a
            for a in authenticators
            if a.status in (AuthenticatorStatus.ACTIVE, AuthenticatorStatus.DISABLED)
        ],
        "tokens": [
            a
            for a in authenticators
            if a.method in (Method.TOTP, Method.HOTP_TOKEN)
            and a.status == AuthenticatorStatus.ACTIVE
        ],
        "live_devices": live_devices,
        "usable_bypass_codes": BypassCode.objects.filter(
            end_user=end_user, used_at__isnull=True, revoked_at__isnull=True
        )
        .filter(expires_at__gt=clock.now())
        .count(),
        "approvals": list(
            ApprovalRequest.objects.filter(ticket=ticket, status__in=["pending", "approved"])
            .select_related("requested_by", "decided_by")
            .order_by("-created_at")[:10]
        ),
        "approvable_actions": [
            (name, spec.label)
            for name, spec in ACTIONS.items()
            if spec.sensitive or spec.always_second_approver
        ],
        "result": "",
        "refusal": None,
        "bypass": None,
        "acted": "",
        "kept": {},
    }
    context.update(extra)
    return context


def _render_panel(
    request: HttpRequest, ticket: Ticket, *, changed: bool = False, **extra: Any
) -> HttpResponse:
    template = (
        "enrollment/_ticket_actions.html"
        if _wants_partial(request)
        else "enrollment/ticket_actions.html"
    )
    response = render(request, template, panel_context(request, ticket, **extra))
    if changed:
        response["HX-Trigger"] = "ticket-changed"
    return response


def _done(request: HttpRequest, ticket: Ticket, message: str, acted: str = "") -> HttpResponse:
    if _wants_partial(request):
        return _render_panel(request, ticket, changed=True, result=message, acted=acted)
    messages.success(request, message)
    return redirect("enrollment:ticket-actions", ticket_pk=ticket.pk)


def _last_action_message(ticket: Ticket) -> str:
    payload = (
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RECOVERY_ACTION)
        .order_by("-seq")
        .values_list("payload", flat=True)
        .first()
    )
    return (payload or {}).get("message", "") or "Done."


def _access_refusal_recorder(
    request: HttpRequest, ticket: Ticket, action: str
) -> Callable[[tuple[GuardResult, ...], str], None]:
    def record(results: tuple[GuardResult, ...], message: str) -> None:
        with transaction.atomic():
            recovery_event_record(
                ticket=ticket,
                actor=request.user,
                payload=RecoveryActionPayload(
                    action=action,
                    outcome="refused",
                    by=request.user.username,
                    message=message,
                    guards=[r.as_payload() for r in results],
                ),
            )

    return record


# --- The panel ------------------------------------------------------------------------------


@require_GET
@login_required
def ticket_actions(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """The recovery actions panel (full page, or the partial for htmx)."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = _ticket_visible(request.user, ticket_pk)
    return _render_panel(request, ticket)


def _issue_bypass(actor: Staff, ticket: Ticket, data: dict) -> Any:
    return services.bypass_code_issue(
        actor=actor,
        ticket=ticket,
        reason=data["reason"],
        count=data["count"] or 1,
        valid_minutes=data.get("valid_minutes"),
    )


HANDLERS: dict[str, tuple[type[forms.forms.Form], Callable[[Staff, Ticket, dict], Any]]] = {
    "bypass_code_issue": (forms.BypassIssueForm, _issue_bypass),
    "bypass_codes_revoke": (
        forms.ReasonForm,
        lambda a, t, d: services.bypass_codes_revoke(actor=a, ticket=t, reason=d["reason"]),
    ),
    "end_user_re_enroll": (
        forms.ReasonForm,
        lambda a, t, d: services.end_user_re_enroll(actor=a, ticket=t, reason=d["reason"]),
    ),
    "enrollment_email_resend": (
        forms.ReasonForm,
        lambda a, t, d: services.enrollment_email_resend(actor=a, ticket=t, reason=d["reason"]),
    ),
    "activation_resend": (
        forms.AuthenticatorForm,
        lambda a, t, d: services.activation_resend(
            actor=a, ticket=t, reason=d["reason"], authenticator_id=d["authenticator"]
        ),
    ),
    "authenticator_reset": (
        forms.AuthenticatorForm,
        lambda a, t, d: services.authenticator_reset(
            actor=a, ticket=t, reason=d["reason"], authenticator_id=d["authenticator"]
        ),
    ),
    "authenticators_reset_all": (
        forms.ReasonForm,
        lambda a, t, d: services.authenticators_reset_all(actor=a, ticket=t, reason=d["reason"]),
    ),
    "token_resync": (
        forms.ResyncForm,
        lambda a, t, d: services.token_resync(
            actor=a,
            ticket=t,
            reason=d["reason"],
            authenticator_id=d["authenticator"],
            first_code=d["first_code"],
            second_code=d["second_code"],
        ),
    ),
    "end_user_unlock": (
        forms.ReasonForm,
        lambda a, t, d: services.end_user_unlock(actor=a, ticket=t, reason=d["reason"]),
    ),
    "device_mark_lost": (
        forms.DeviceForm,
        lambda a, t, d: services.device_mark_lost(
            actor=a, ticket=t, reason=d["reason"], device_id=d["device"]
        ),
    ),
}


@require_POST
@login_required
def ticket_action(request: HttpRequest, ticket_pk: int, action: str) -> HttpResponse:
    """Runs one recovery action (`action` is a service name) on the ticket's end user."""
    action = action.replace("-", "_")
    if action not in HANDLERS:
        raise Http404("No such action.")
    ticket = _ticket_visible_or_record(request, ticket_pk, action)
    form_class, handler = HANDLERS[action]
    form = form_class(request.POST)
    # Feedback renders at the form that was sent (`acted`), which keeps what was typed.
    here = {"acted": action, "kept": request.POST}
    if not form.is_valid():
        problems = "; ".join(
            f"{_field_label(form, name)}: {' '.join(errs)}" for name, errs in form.errors.items()
        )
        return _render_panel(request, ticket, form_error=f"Check the form ({problems}).", **here)
    try:
        outcome = handler(request.user, ticket, form.cleaned_data)
    except RecoveryRefused as refusal:
        return _render_panel(
            request, ticket, changed=True, refusal=refusal, refused_action=action, **here
        )
    if action == "bypass_code_issue":
        # Shown exactly once, in this response; never stored in a session or a message.
        response = _render_panel(request, ticket, changed=True, bypass=outcome, acted=action)
        patch_cache_control(response, no_store=True, private=True)
        return response
    return _done(request, ticket, _last_action_message(ticket), acted=action)


def _field_label(form: forms.forms.Form, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label or name.replace("_", " ").capitalize()) if field else "Form"


@require_POST
@login_required
def bypass_handed_over(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """ "I have given these to the caller": recorded on the trail, shown at the codes' panel."""
    ticket = _ticket_visible_or_record(request, ticket_pk, "bypass_codes_handed_over")
    try:
        services.bypass_codes_handed_over(actor=request.user, ticket=ticket)
    except RecoveryRefused as refusal:
        return _render_panel(
            request, ticket, changed=True, refusal=refusal, acted="bypass_code_issue"
        )
    message = "Recorded on the ticket: the codes were given to the caller."
    if _wants_partial(request):
        return _render_panel(
            request, ticket, changed=True, result=message, acted="bypass_code_issue"
        )
    messages.success(request, message)
    return redirect("enrollment:ticket-actions", ticket_pk=ticket.pk)


def _ticket_visible_or_record(request: HttpRequest, ticket_pk: int, action: str) -> Ticket:
    """The ticket, after capability (403) and unit (404) checks that record a refusal."""
    ticket = Ticket.objects.select_related("end_user").filter(pk=ticket_pk).first()
    if ticket is None:
        raise Http404("No such ticket.")
    enforce_access(
        request.user,
        ticket,
        Capability.RECOVERY_ACTIONS,
        _access_refusal_recorder(request, ticket, action),
    )
    return ticket


# --- Identity verification ------------------------------------------------------------------


@require_POST
@login_required
def identity_push(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """Sends a verification push to one of the end user's active push devices."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = _ticket_visible(request.user, ticket_pk)
    form = forms.PushForm(request.POST)
    if not form.is_valid():
        return _render_panel(
            request, ticket, form_error="Choose a device for the push.", acted="identity_push"
        )
    try:
        services.identity_push_send(
            actor=request.user, ticket=ticket, device_id=form.cleaned_data["device"]
        )
    except RecoveryRefused as refusal:
        return _render_panel(request, ticket, changed=True, refusal=refusal, acted="identity_push")
    return _done(
        request, ticket, "Verification push sent; waiting for the answer.", acted="identity_push"
    )


@require_POST
@login_required
def identity_callback(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """Records a callback to a number of record, attested by the technician."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = _ticket_visible(request.user, ticket_pk)
    form = forms.CallbackForm(request.POST)
    if not form.is_valid():
        return _render_panel(
            request, ticket, form_error="Choose the number you called.", acted="identity_callback"
        )
    try:
        verification = services.identity_callback_attest(
            actor=request.user,
            ticket=ticket,
            phone_number=form.cleaned_data["phone_number"],
            confirmed=form.cleaned_data["confirmed"],
        )
    except RecoveryRefused as refusal:
        return _render_panel(
            request, ticket, changed=True, refusal=refusal, acted="identity_callback"
        )
    return _done(
        request,
        ticket,
        f"Caller verified by callback until {verification.valid_until:%H:%M} UTC.",
        acted="identity_callback",
    )


@require_GET
@login_required
def identity_status(request: HttpRequest, pk: int) -> HttpResponse:
    """A push verification's state: the polling fragment for htmx (286 once it ended), the
    panel for a plain request."""
    _require(request.user, Capability.WORK_TICKETS)
    verification = (
        IdentityVerification.objects.select_related("ticket", "ticket__end_user", "device")
        .filter(pk=pk)
        .first()
    )
    if verification is None or not end_user_in_scope(request.user, verification.end_user_id):
        raise Http404("No such verification.")
    verification = services.identity_push_refresh(actor=request.user, verification=verification)
    if not _wants_partial(request):
        return redirect("enrollment:ticket-actions", ticket_pk=verification.ticket_id)
    pending = verification.status == VerificationStatus.PENDING
    response = render(
        request,
        "enrollment/_identity_status.html",
        {"verification": verification, "pending": pending},
        status=200 if pending else STOP_POLLING,
    )
    if not pending:
        response["HX-Trigger"] = "ticket-changed"
    return response


# --- Approvals ------------------------------------------------------------------------------


@require_POST
@login_required
def approval_request(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """Asks a supervisor to approve the caller's identity or one recovery action."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = _ticket_visible(request.user, ticket_pk)
    form = forms.ApprovalRequestForm(request.POST)
    # The identity request and the action requests are separate forms on the panel.
    here = {
        "acted": "approval_identity"
        if request.POST.get("kind") == "identity"
        else "approval_action",
        "kept": request.POST,
    }
    if not form.is_valid():
        return _render_panel(request, ticket, form_error="Choose what to ask approval for.", **here)
    data = form.cleaned_data
    try:
        approval = services.approval_request_create(
            actor=request.user,
            ticket=ticket,
            kind=data["kind"],
            action=data["action"],
            reason=data["reason"],
        )
    except RecoveryRefused as refusal:
        return _render_panel(request, ticket, changed=True, refusal=refusal, **here)
    return _done(
        request,
        ticket,
        f"Approval requested ({say('service_action', approval.action or 'identity')}); a "
        "supervisor decides it from the approvals queue.",
        acted=here["acted"],
    )


@require_GET
@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    """Pending approval requests in the supervisor's units, oldest first."""
    _require(request.user, Capability.APPROVE_SENSITIVE)
    rows = approval_contexts(list(services.approvals_pending_visible_to(request.user)[:100]))
    template = "enrollment/approvals.html"
    if _wants_partial(request):
        template += "#queue"
    return render(request, template, {"rows": rows, "actions": ACTIONS, "error": ""})


@require_POST
@login_required
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approves or denies one request, with a reason."""
    _require(request.user, Capability.APPROVE_SENSITIVE)
    # Not scoped here: the service answers an out-of-unit decider with 404 after recording
    # the attempt on the ticket.
    approval = services.approval_get_for_decision(pk)
    form = forms.DecisionForm(request.POST)
    error = decided = ""
    if not form.is_valid():
        error = "Choose approve or deny."
    else:
        try:
            approval = services.approval_decide(
                actor=request.user,
                approval=approval,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except RecoveryRefused as refusal:
            error = refusal.message
        else:
            decided = _decision_said(approval)
    if not error and not _wants_partial(request):
        messages.success(request, decided)
        return redirect("enrollment:approval-queue")
    rows = approval_contexts(list(services.approvals_pending_visible_to(request.user)[:100]))
    template = "enrollment/approvals.html"
    if _wants_partial(request):
        template += "#queue"
    context = {"rows": rows, "actions": ACTIONS, "error": error, "decided": decided}
    return render(request, template, context)


def _decision_said(approval: ApprovalRequest) -> str:
    """The decision in plain words: what, for whom, and what happens next."""
    who = approval.end_user.full_name or approval.end_user.username
    requester = approval.requested_by.get_full_name() or approval.requested_by.username
    on = f"ticket #{approval.ticket_id}"
    if approval.kind == ApprovalKind.IDENTITY:
        if approval.status == ApprovalStatus.DENIED:
            return (
                f"Denied: the caller's identity for {who}. {requester} must verify the caller "
                f"another way on {on}."
            )
        return (
            f"Approved: the caller's identity for {who}. {requester} can now go on with the "
            f"recovery on {on}."
        )
    action = say("service_action", approval.action).lower()
    if approval.status == ApprovalStatus.DENIED:
        return f"Denied: {action} for {who}. {requester} cannot do it on {on}."
    return f"Approved: {action} for {who}. {requester} can now do it on {on}."


@require_POST
@login_required
def escalate_security(request: HttpRequest, ticket_pk: int) -> HttpResponse:
    """Escalates the ticket to security: offered when fraud signals block recovery."""
    _require(request.user, Capability.WORK_TICKETS)
    ticket = _ticket_visible(request.user, ticket_pk)
    form = forms.EscalateSecurityForm(request.POST)
    if not form.is_valid():
        return _render_panel(request, ticket, form_error="Say why the ticket goes to security.")
    try:
        ticket_escalate(
            actor=request.user,
            ticket=ticket,
            reason=form.cleaned_data["reason"],
            expected_version=None,
            to_tier=Tier.SECURITY,
        )
    except TicketError as error:
        return _render_panel(request, ticket, form_error=str(error))
    messages.success(request, f"Ticket #{ticket.pk} escalated to security.")
    if _wants_partial(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("helpdesk:ticket-detail", kwargs={"pk": ticket.pk})
        return response
    return redirect("helpdesk:ticket-detail", pk=ticket.pk)
