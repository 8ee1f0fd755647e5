from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from helpdesk.roles import Capability


class HelpdeskAdminSite(admin.AdminSite):
    """The Django admin, open to owners and administrators only and signed in to through
    the helpdesk's own login (password + TOTP), never the admin's password-only form."""

    site_header = "MFA Helpdesk administration"
    site_title = "MFA Helpdesk admin"
    index_title = "Records"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and user.has_capability(Capability.DJANGO_ADMIN)
            and (not settings.STAFF_MFA_REQUIRED or user.is_verified())
        )

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            # Signed-in staff of another role get a plain 403, not a detour via a login form.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.user.is_authenticated:
            raise PermissionDenied
        query = urlencode({"next": request.GET.get("next", reverse("admin:index"))})
        return redirect(f"{reverse(settings.LOGIN_URL)}?{query}")
