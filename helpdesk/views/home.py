from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from helpdesk.roles import Capability, Role

# What each capability means to the person holding it, in the words of the home page.
CAPABILITY_TEXT: dict[Capability, str] = {
    Capability.VIEW_TICKETS: "Read tickets, end users' MFA status and the authentication log.",
    Capability.WORK_TICKETS: "Open tickets and work them with guided troubleshooting.",
    Capability.RECOVERY_ACTIONS: "Issue bypass codes, reset authenticators and re-enroll "
    "users, after verifying the caller's identity.",
    Capability.OPERATE_DEVICES: "Act as the caller on the device simulator: answer pushes, "
    "read the codes and messages on their phone.",
    Capability.TAKE_ESCALATIONS: "Take escalated (tier 2) cases.",
    Capability.MANAGE_END_USERS: "Manage end users, groups and devices in the directory.",
    Capability.BULK_ENROLLMENT: "Remind or restart many end users pending enrollment at once.",
    Capability.APPROVE_SENSITIVE: "Approve or deny sensitive actions as the second person.",
    Capability.REVIEW_AUDIT: "Review and export the audit trail and outcome metrics.",
    Capability.VIEW_DASHBOARD: "Read outcome metrics and playbook analytics on the dashboard.",
    Capability.CONFIGURE_POLICY: "Configure MFA policies and applications.",
    Capability.PUBLISH_PLAYBOOKS: "Publish and retire troubleshooting playbooks.",
    Capability.MANAGE_STAFF: "Create staff accounts, assign roles and administrative units.",
    Capability.MANAGE_ADMINISTRATORS: "Manage administrators and owners.",
    Capability.DJANGO_ADMIN: "Use the low-level administration site.",
}

ROLE_INTRO: dict[str, str] = {
    Role.OWNER: "You can do everything, including managing administrators.",
    Role.ADMINISTRATOR: "You configure policies, staff, administrative units and playbooks.",
    Role.USER_MANAGER: "You take escalations and manage end users and their devices.",
    Role.HELPDESK: "You take calls, open tickets and work them with guided troubleshooting.",
    Role.SUPERVISOR: "You review outcomes and audit trails and approve sensitive actions.",
    Role.READ_ONLY: "You can read tickets and audit trails; you change nothing.",
}


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    staff = request.user
    context = {
        "role_label": Role(staff.role).label,
        "role_intro": ROLE_INTRO[staff.role],
        "capabilities": [CAPABILITY_TEXT[c] for c in Capability if c in staff.capabilities],
    }
    return render(request, "helpdesk/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means unhealthy
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means not ready
        return "down"
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        client.ping()
        client.close()
    except (redis.RedisError, OSError):
        return "down"
    return "ok"


def _check_broker() -> str:
    from helpdesk.celery import app

    if app.conf.task_always_eager or not app.conf.broker_url:
        return "in-process"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=1)
    except Exception:  # kombu wraps every transport failure differently
        return "down"
    return "ok"


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database, Redis (cache) and the broker, each reported on its own.

    503 when the database is down (nothing works). Redis or the broker being down answers 200
    with "degraded": pages keep working (the cache misses, tasks wait in the outbox), but an
    operator should know. /healthz stays the plain liveness check."""
    checks = {"database": _check_database(), "redis": _check_redis(), "broker": _check_broker()}
    if checks["database"] != "ok":
        status = "down"
    elif "down" in checks.values():
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse({"status": status, **checks}, status=503 if status == "down" else 200)
