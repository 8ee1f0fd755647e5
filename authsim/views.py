"""The device simulator pages: what an end user sees on a phone, a token or in a mailbox.

They stand in for the end users' own devices, under the same rules as every page about an
end user: a device whose owner is outside the staff member's administrative units is
missing (404); reading a device needs VIEW_TICKETS, and acting as its owner (answering a
push, pressing buttons, signing in) — and seeing what only the owner sees, the app's code,
the inboxes, the enrollment key — needs OPERATE_DEVICES (403 otherwise). Outside the demo
run nobody answers an identity-verification push they sent themselves
(enrollment.services.identity.identity_push_answer_check, which records the refusal on the
ticket). Nothing on the helpdesk side links here or reads what these pages show.

Plain POST forms with post/redirect/get; with htmx, a POST re-renders the device screen and
a pending push updates live by polling every 2 s (stopping with 286 once it is answered or
expires).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from authsim import caller, selectors
from authsim.forms import PRESS_TOKEN, CallerActionForm, SignInForm
from enrollment.mfa import MFAServiceError, get_mfa_service
from enrollment.models import Device
from enrollment.services.identity import IdentityRefused, identity_push_answer_check
from helpdesk.models import Staff
from helpdesk.roles import Capability

# htmx's "stop polling" status.
STOP_POLLING = 286
PUSH_ANSWERS = ("approve_push", "deny_push")


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _require(staff: Staff, capability: Capability) -> None:
    if not staff.has_capability(capability):
        raise PermissionDenied


def _device_or_404(staff: Staff, device_id: int) -> Device:
    device = selectors.sim_device_get(staff, device_id)
    if device is None:
        raise Http404("No such simulated device.")
    return device


@require_GET
@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, Capability.VIEW_TICKETS)
    search = request.GET.get("q", "").strip()[:100]
    page = selectors.sim_device_page(request.user, search=search, page=request.GET.get("page", 1))
    return render(request, "authsim/device_list.html", {"page": page, "search": search})


def _screen_context(request: HttpRequest, device: Device) -> dict:
    return {
        "screen": selectors.sim_device_screen(
            device, viewer=request.user, demo_mode=settings.DEMO_MODE
        ),
        "actions": caller.ACTION_LABELS,
        "sign_in_form": SignInForm(),
    }


@require_GET
@login_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    _require(request.user, Capability.VIEW_TICKETS)
    device = _device_or_404(request.user, device_id)
    context = _screen_context(request, device)
    # The live parts of the screen refresh themselves: the push panel and the app's code.
    if _wants_partial(request) and request.htmx.target in ("push-panel", "totp-code"):
        return render(request, f"authsim/device_detail.html#{request.htmx.target}", context)
    return render(request, "authsim/device_detail.html", context)


@require_GET
@login_required
def device_push(request: HttpRequest, device_id: int, push_id: int) -> HttpResponse:
    """One push on the device, polled while it waits for an answer."""
    _require(request.user, Capability.VIEW_TICKETS)
    device = _device_or_404(request.user, device_id)
    push = selectors.sim_push_get(device, push_id)
    if push is None:
        raise Http404("No such push on this device.")
    if not _wants_partial(request):
        return redirect("authsim:device-detail", device_id=device.pk)
    live = selectors.sim_push_is_live(push)
    may_act = selectors.may_act_as_caller(request.user)
    own = (
        selectors.own_verification_push_ids(request.user, [push])
        if live and may_act and not settings.DEMO_MODE
        else frozenset()
    )
    response = render(
        request,
        "authsim/device_detail.html#push-card",
        {
            "push": push,
            "live": live,
            "screen": {"device": device, "may_act": may_act, "own_verification_push_ids": own},
        },
    )
    if not live:
        response.status_code = STOP_POLLING
    return response


def _after_post(request: HttpRequest, device: Device) -> HttpResponse:
    if _wants_partial(request):
        device = _device_or_404(request.user, device.pk)  # the action has just changed it
        return render(
            request, "authsim/device_detail.html#screen", _screen_context(request, device)
        )
    return redirect("authsim:device-detail", device_id=device.pk)


@require_POST
@login_required
def device_action(request: HttpRequest, device_id: int) -> HttpResponse:
    """A caller action performed on this device (or by its owner)."""
    _require(request.user, Capability.VIEW_TICKETS)
    device = _device_or_404(request.user, device_id)
    form = CallerActionForm(request.POST)
    valid = form.is_valid()
    action = form.cleaned_data["action"] if valid else None
    push = None
    if action in PUSH_ANSWERS:
        push = _push_to_answer(device, form.cleaned_data["push"])
        if push is not None:
            # Before the capability check, so that a role that may not answer a
            # verification push is refused with an event on its ticket.
            try:
                identity_push_answer_check(
                    actor=request.user, push_id=push.public_id, demo_mode=settings.DEMO_MODE
                )
            except IdentityRefused as refusal:
                messages.error(request, str(refusal))
                return _after_post(request, device)
    _require(request.user, Capability.OPERATE_DEVICES)
    if not valid:
        messages.error(request, "Unknown action.")
        return _after_post(request, device)
    if action in PUSH_ANSWERS and push is None:
        messages.error(request, "I don't see that request on my phone.")
        return _after_post(request, device)
    if action == PRESS_TOKEN:
        code = caller.current_code(device)
        if code:
            messages.info(request, f"The token shows {code}.")
        else:
            messages.error(request, "Nothing happens.")
        return _after_post(request, device)
    result = caller.perform(
        action,
        end_user_id=device.end_user_id,
        device_id=device.pk,
        fraud=form.cleaned_data["fraud"],
        push_id=push.pk if push is not None else None,
    )
    (messages.success if result.ok else messages.error)(request, result.message)
    return _after_post(request, device)


@require_POST
@login_required
def device_sign_in(request: HttpRequest, device_id: int) -> HttpResponse:
    """The end user tries to sign in (on their computer) — the push or code then shows up
    on this page."""
    _require(request.user, Capability.OPERATE_DEVICES)
    device = _device_or_404(request.user, device_id)
    form = SignInForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the sign-in form.")
        return _after_post(request, device)
    data = form.cleaned_data
    try:
        attempt = get_mfa_service().sign_in(
            end_user_id=device.end_user_id,
            application=data["application"] or None,
            factor=data["factor"],
            passcode=data["passcode"] or None,
            device_id=device.pk if data["factor"] in ("auto", "push") else None,
        )
    except MFAServiceError as exc:
        messages.error(request, str(exc))
        return _after_post(request, device)
    if attempt.is_pending:
        messages.info(request, f"Signing in with {attempt.factor}: waiting for the answer.")
    else:
        level = messages.success if attempt.succeeded else messages.error
        level(request, f"Sign-in {attempt.result}: {attempt.reason}.")
    return _after_post(request, device)


def _push_to_answer(device: Device, push_pk: int | None):
    """The request a push button answers: the one it was pressed on, else the newest on
    the screen; None when it is not (or no longer) on the screen."""
    pushes = caller.visible_pushes(device)
    if push_pk is not None:
        pushes = [push for push in pushes if push.pk == push_pk]
    return pushes[0] if pushes else None


def device_url(device: Device) -> str:
    return reverse("authsim:device-detail", kwargs={"device_id": device.pk})
