import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "signed_in_at"


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    # An htmx request would swap the login page into a fragment; send the browser instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class SessionLifetimeMiddleware:
    """Ends a session a fixed time after sign-in, however active it has been.

    The idle timeout is the cookie age (renewed on every request); this is the absolute cap.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            if started is None:
                request.session[SIGNED_IN_AT] = time.time()
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return _redirect(request, f"{reverse(settings.LOGIN_URL)}?expired=1")
        return self.get_response(request)


class StaffMFAMiddleware:
    """Keeps a signed-in staff member who has not passed their TOTP step out of everything
    but that step (and signing out)."""

    ALLOWED_NAMES = {"login-verify", "login-enroll", "logout", "healthz", "readyz"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.STAFF_MFA_REQUIRED
            and request.user.is_authenticated
            and not request.user.is_verified()
            and not request.path.startswith(self.static_prefix)
        ):
            match = request.resolver_match or _resolve(request.path_info)
            if match is None or match.url_name not in self.ALLOWED_NAMES:
                from helpdesk.views.auth import next_mfa_step

                return _redirect(request, next_mfa_step(request.user))
        return self.get_response(request)


def _resolve(path: str):
    from django.urls import Resolver404, resolve

    try:
        return resolve(path)
    except Resolver404:
        return None


class RejectNulCharactersMiddleware:
    """Refuses any request whose address, query or form carries a NUL character, with a page
    that says so (400), before a view sees it.

    PostgreSQL cannot store or even compare text holding NUL (it raises an error mid-query),
    and no person types one: it only arrives from a script or a pasted binary. Django's form
    fields already refuse NUL; this also covers every value a view reads directly (search
    boxes, wizard answers, hidden cursors) and every parameter name.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            from django.shortcuts import render

            return render(request, "helpdesk/bad_input.html", status=400)
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        sources = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sources.append(request.POST)
        for source in sources:
            for key, values in source.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return True
        return False
