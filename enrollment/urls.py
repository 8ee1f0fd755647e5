from django.urls import path

from enrollment import views, views_bulk, views_directory, views_policy

app_name = "enrollment"

urlpatterns = [
    path("tickets/<int:ticket_pk>/recovery/", views.ticket_actions, name="ticket-actions"),
    path(
        "tickets/<int:ticket_pk>/recovery/<slug:action>/",
        views.ticket_action,
        name="ticket-action",
    ),
    path("tickets/<int:ticket_pk>/identity/push/", views.identity_push, name="identity-push"),
    path(
        "tickets/<int:ticket_pk>/identity/callback/",
        views.identity_callback,
        name="identity-callback",
    ),
    path("identity/<int:pk>/", views.identity_status, name="identity-status"),
    path("tickets/<int:ticket_pk>/approvals/", views.approval_request, name="approval-request"),
    path(
        "tickets/<int:ticket_pk>/bypass-codes/given/",
        views.bypass_handed_over,
        name="bypass-handed-over",
    ),
    path(
        "tickets/<int:ticket_pk>/escalate-security/",
        views.escalate_security,
        name="escalate-security",
    ),
    path("approvals/", views.approval_queue, name="approval-queue"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval-decide"),
    path("users/", views_directory.end_user_list, name="end-user-list"),
    path("users/<int:pk>/", views_directory.end_user_detail, name="end-user-detail"),
    path(
        "users/<int:pk>/sync/",
        views_directory.end_user_directory_refresh,
        name="end-user-directory-refresh",
    ),
    path("policies/", views_policy.policy_list, name="policy-list"),
    path("policies/new/", views_policy.policy_create_view, name="policy-create"),
    path("policies/explain/", views_policy.policy_explain, name="policy-explain"),
    path("policies/<int:pk>/", views_policy.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/delete/", views_policy.policy_delete_view, name="policy-delete"),
    path("bulk/", views_bulk.bulk_pending, name="bulk-pending"),
    path("bulk/start/", views_bulk.bulk_start, name="bulk-start"),
    path("bulk/<int:pk>/", views_bulk.bulk_job, name="bulk-job"),
    path("bulk/<int:pk>/resume/", views_bulk.bulk_job_resume_view, name="bulk-job-resume"),
]
