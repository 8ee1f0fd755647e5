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
