"""The device simulator pages: what an end user sees on a phone, a token or in a mailbox.

They stand in for the end users' own devices, so any signed-in staff member may use them
(no capability, no administrative-unit scope): they are not helpdesk data, and nothing on
the helpdesk side links here or reads what they show. Plain POST forms with
post/redirect/get; with htmx, a POST re-renders the device screen and a pending push
updates live by polling every 2 s (stopping with 286 once it is answered or expires).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from authsim import caller, selectors
from authsim.forms import PRESS_TOKEN, CallerActionForm, SignInForm
from enrollment.mfa import MFAServiceError, get_mfa_service
from enrollment.models import Device

# htmx's "stop polling" status.
STOP_POLLING = 286


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _device_or_404(device_id: int) -> Device:
    device = selectors.sim_device_get(device_id)
    if device is None:
        raise Http404("No such simulated device.")
    return device


@require_GET
@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    page = selectors.sim_device_page(search=search, page=request.GET.get("page", 1))
    return render(request, "authsim/device_list.html", {"page": page, "search": search})


def _screen_context(request: HttpRequest, device: Device) -> dict:
    return {
        "screen": selectors.sim_device_screen(device),
        "actions": caller.ACTION_LABELS,
        "sign_in_form": SignInForm(),
    }


@require_GET
@login_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    device = _device_or_404(device_id)
    context = _screen_context(request, device)
    # The live parts of the screen refresh themselves: the push panel and the app's code.
    if _wants_partial(request) and request.htmx.target in ("push-panel", "totp-code"):
        return render(request, f"authsim/device_detail.html#{request.htmx.target}", context)
    return render(request, "authsim/device_detail.html", context)


@require_GET
@login_required
def device_push(request: HttpRequest, device_id: int, push_id: int) -> HttpResponse:
    """One push on the device, polled while it waits for an answer."""
    device = _device_or_404(device_id)
    push = selectors.sim_push_get(device, push_id)
    if push is None:
        raise Http404("No such push on this device.")
    if not _wants_partial(request):
        return redirect("authsim:device-detail", device_id=device.pk)
    live = selectors.sim_push_is_live(push)
    response = render(
        request,
        "authsim/device_detail.html#push-card",
        {"push": push, "live": live, "screen": {"device": device}},
    )
    if not live:
        response.status_code = STOP_POLLING
    return response


def _after_post(request: HttpRequest, device: Device) -> HttpResponse:
    if _wants_partial(request):
        device = _device_or_404(device.pk)  # the action has just changed it
        return render(
            request, "authsim/device_detail.html#screen", _screen_context(request, device)
        )
    return redirect("authsim:device-detail", device_id=device.pk)


@require_POST
@login_required
def device_action(request: HttpRequest, device_id: int) -> HttpResponse:
    """A caller action performed on this device (or by its owner)."""
    device = _device_or_404(device_id)
    form = CallerActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown action.")
        return _after_post(request, device)
    action = form.cleaned_data["action"]
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
    )
    (messages.success if result.ok else messages.error)(request, result.message)
    return _after_post(request, device)


@require_POST
@login_required
def device_sign_in(request: HttpRequest, device_id: int) -> HttpResponse:
    """The end user tries to sign in (on their computer) — the push or code then shows up
    on this page."""
    device = _device_or_404(device_id)
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


def device_url(device: Device) -> str:
    return reverse("authsim:device-detail", kwargs={"device_id": device.pk})
