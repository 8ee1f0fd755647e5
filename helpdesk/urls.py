from django.contrib import admin
from django.urls import include, path

from helpdesk.views import audit, auth, dashboard, home, setup, staff, tickets
from troubleshooting.urls import kb_patterns

helpdesk_patterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.login_verify, name="login-verify"),
    path("login/enroll/", auth.login_enroll, name="login-enroll"),
    path("logout/", auth.logout_view, name="logout"),
    path("setup/<str:token>/", setup.staff_setup, name="staff-setup"),
    path("tickets/", tickets.ticket_queue, name="ticket-queue"),
    path("tickets/new/", tickets.ticket_open, name="ticket-open"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket-detail"),
    path("tickets/<int:pk>/mfa/", tickets.ticket_mfa_picture, name="ticket-mfa-picture"),
    path(
        "tickets/<int:pk>/mfa/refresh/",
        tickets.ticket_directory_refresh,
        name="ticket-directory-refresh",
    ),
    path("tickets/<int:pk>/assign/", tickets.ticket_assign, name="ticket-assign"),
    path("tickets/<int:pk>/status/", tickets.ticket_status, name="ticket-status"),
    path("tickets/<int:pk>/escalate/", tickets.ticket_escalate, name="ticket-escalate"),
    path("tickets/<int:pk>/resolve/", tickets.ticket_resolve, name="ticket-resolve"),
    path("tickets/<int:pk>/comment/", tickets.ticket_comment, name="ticket-comment"),
    path("audit/", audit.audit_review, name="audit-review"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    path("audit/verify/", audit.audit_verify, name="audit-verify"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/export.csv", dashboard.dashboard_export, name="dashboard-export"),
    path("staff/", staff.staff_list, name="staff-list"),
    path("staff/new/", staff.staff_create, name="staff-create"),
    path("staff/<int:pk>/", staff.staff_detail, name="staff-detail"),
    path("staff/<int:pk>/role/", staff.staff_role, name="staff-role"),
    path("staff/<int:pk>/units/", staff.staff_units, name="staff-units"),
    path("staff/<int:pk>/identity/", staff.staff_identity, name="staff-identity"),
    path("staff/<int:pk>/deactivate/", staff.staff_deactivate, name="staff-deactivate"),
    path("staff/units/", staff.unit_list, name="unit-list"),
    path("staff/units/new/", staff.unit_create, name="unit-create"),
    path("staff/units/<int:pk>/", staff.unit_edit, name="unit-edit"),
]

urlpatterns = [
    path("", include((helpdesk_patterns, "helpdesk"))),
    path("healthz", home.healthz, name="healthz"),
    path("readyz", home.readyz, name="readyz"),
    path("directory/", include("enrollment.urls")),
    path("sim/", include("authsim.urls")),
    path("guide/", include("troubleshooting.urls")),
    path("kb/", include((kb_patterns, "kb"))),
    path("admin/", admin.site.urls),
]
