from django.urls import path

from troubleshooting import views

app_name = "troubleshooting"

urlpatterns = [
    path("tickets/<int:ticket_pk>/", views.ticket_session, name="ticket"),
    path("tickets/<int:ticket_pk>/start/", views.start, name="start"),
    path("sessions/<int:pk>/advance/", views.advance, name="advance"),
    path("sessions/<int:pk>/poll/", views.poll, name="poll"),
    path("sessions/<int:pk>/back/", views.back, name="back"),
    path("sessions/<int:pk>/abandon/", views.abandon, name="abandon"),
]

# Mounted at /kb/ under the "kb" namespace (helpdesk/urls.py).
kb_patterns = [
    path("", views.kb_list, name="list"),
    path("<slug:slug>/", views.kb_article, name="article"),
]
