"""The one-time set-up page a new staff member reaches from the emailed link: choose a
password and enroll one's own authenticator app, in one form (helpdesk.services.staff_setup).

Public (the person has no password yet); the token in the URL is the only key, it works
once and expires. The response is never cached: it shows the TOTP key.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from helpdesk.forms_staff import StaffSetupForm
from helpdesk.services.staff_mfa import totp_provisioning_qr
from helpdesk.services.staff_setup import (
    SetupLinkInvalid,
    setup_link_find,
    setup_totp_device,
    staff_setup_complete,
)


@require_http_methods(["GET", "POST"])
def staff_setup(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = setup_link_find(token)
    except SetupLinkInvalid as invalid:
        response = render(request, "helpdesk/staff_setup.html", {"invalid": str(invalid)})
        response.status_code = 404
        return response
    form = StaffSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff = staff_setup_complete(
                token=token,
                password=form.cleaned_data["password1"],
                code=form.cleaned_data["code"],
            )
        except SetupLinkInvalid as invalid:
            response = render(request, "helpdesk/staff_setup.html", {"invalid": str(invalid)})
            response.status_code = 404
            return response
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("password1" if field == "password" else field, errors)
        else:
            messages.success(
                request, f"Your account {staff.username} is ready. Sign in with your password."
            )
            return redirect("helpdesk:login")
    device = setup_totp_device(link)
    context = {"form": form, "staff": link.staff, **totp_provisioning_qr(device)}
    response = render(request, "helpdesk/staff_setup.html", context)
    add_never_cache_headers(response)
    return response
