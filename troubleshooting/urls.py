from django.urls import path

from troubleshooting import views, views_publishing

app_name = "troubleshooting"

urlpatterns = [
    path("tickets/<int:ticket_pk>/", views.ticket_session, name="ticket"),
    path("tickets/<int:ticket_pk>/start/", views.start, name="start"),
    path("sessions/<int:pk>/advance/", views.advance, name="advance"),
    path("sessions/<int:pk>/poll/", views.poll, name="poll"),
    path("sessions/<int:pk>/back/", views.back, name="back"),
    path("sessions/<int:pk>/abandon/", views.abandon, name="abandon"),
    path("sessions/<int:pk>/caller-report/", views.caller_report, name="caller-report"),
    path("sessions/<int:pk>/bypass-code-given/", views.bypass_given, name="bypass-given"),
    # Playbook publishing (administrators; supervisors and auditors read).
    path("playbooks/", views_publishing.playbook_list, name="playbook-list"),
    path("playbooks/publish/", views_publishing.playbook_publish, name="playbook-publish"),
    path("playbooks/sync/", views_publishing.playbook_sync, name="playbook-sync"),
    path("playbooks/<slug:slug>/diff/", views_publishing.playbook_diff, name="playbook-diff"),
    path(
        "playbooks/<slug:slug>/v<int:number>/",
        views_publishing.playbook_version,
        name="playbook-version",
    ),
    path(
        "playbooks/<slug:slug>/v<int:number>/retire/",
        views_publishing.playbook_version_retire_view,
        name="playbook-retire",
    ),
    path(
        "playbooks/<slug:slug>/v<int:number>/delete/",
        views_publishing.playbook_version_delete_view,
        name="playbook-delete",
    ),
]

# Mounted at /kb/ under the "kb" namespace (helpdesk/urls.py).
kb_patterns = [
    path("", views.kb_list, name="list"),
    path("<slug:slug>/", views.kb_article, name="article"),
]
