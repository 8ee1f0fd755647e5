from django.conf import settings
from django.http import HttpRequest

from helpdesk.navigation import nav_for


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    nav = []
    if (
        user is not None
        and user.is_authenticated
        and (not settings.STAFF_MFA_REQUIRED or user.is_verified())
    ):
        nav = nav_for(user)
    return {
        "nav_items": nav,
        "nav_grouped": [item for item in nav if item["grouped"]],
        "demo_mode": not settings.STAFF_MFA_REQUIRED,
    }
