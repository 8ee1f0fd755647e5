"""Staff sign-in: password, then a TOTP code (enrolling a TOTP device the first time)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.forms import LoginForm, TokenForm
from helpdesk.middleware import SIGNED_IN_AT
from helpdesk.models import Staff
from helpdesk.services.staff_mfa import (
    totp_device_confirm,
    totp_device_for_enrollment,
    totp_provisioning_qr,
)

NEXT_KEY = "login_next"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def next_mfa_step(staff: Staff) -> str:
    has_device = TOTPDevice.objects.filter(user=staff, confirmed=True).exists()
    return reverse("helpdesk:login-verify" if has_device else "helpdesk:login-enroll")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and (
        not settings.STAFF_MFA_REQUIRED or request.user.is_verified()
    ):
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user)
        request.session[SIGNED_IN_AT] = time.time()
        request.session[NEXT_KEY] = _safe_next(request, request.POST.get("next"))
        if settings.STAFF_MFA_REQUIRED:
            return redirect(next_mfa_step(form.user))
        return redirect(request.session.pop(NEXT_KEY))
    context = {
        "form": form,
        "next": request.GET.get("next", request.POST.get("next", "")),
        "demo_mode": not settings.STAFF_MFA_REQUIRED,
        "expired": request.GET.get("expired") == "1",
    }
    return render(request, "helpdesk/login.html", context)


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """Axes calls this when a sign-in is refused for too many failures. The login view has
    already rendered the form with the lockout message; only the status changes."""
    if original_response is not None and original_response.status_code == 200:
        original_response.status_code = 429
        return original_response
    form = LoginForm(request)
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    form.add_error(None, LoginForm.error_messages["locked"].format(minutes=minutes))
    context = {"form": form, "next": "", "demo_mode": not settings.STAFF_MFA_REQUIRED}
    return render(request, "helpdesk/login.html", context, status=429)


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_verified():
        return redirect(settings.LOGIN_REDIRECT_URL)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        return redirect("helpdesk:login-enroll")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error(
                "token", "Too many wrong codes in a row. Wait a few seconds and try again."
            )
        elif device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            return redirect(request.session.pop(NEXT_KEY, reverse(settings.LOGIN_REDIRECT_URL)))
        else:
            form.add_error(
                "token",
                "That code is not valid. Check that your phone's clock is set automatically "
                "and enter the code currently shown.",
            )
    return render(request, "helpdesk/login_verify.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_enroll(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_verified():
        return redirect(settings.LOGIN_REDIRECT_URL)
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("helpdesk:login-verify")
    device = totp_device_for_enrollment(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_device_confirm(device=device, token=form.cleaned_data["token"]):
            otp_login(request, device)
            messages.success(request, "Your authenticator app is set up for the helpdesk.")
            return redirect(request.session.pop(NEXT_KEY, reverse(settings.LOGIN_REDIRECT_URL)))
        form.add_error("token", "That code does not match. Scan the code again and retry.")
    context = {"form": form, **totp_provisioning_qr(device)}
    return render(request, "helpdesk/login_enroll.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)
