from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk"
    default = True

    def ready(self) -> None:
        # The staff-change and admin-record payload models, registered with the audit trail
        # at start-up.
        from helpdesk.services import admin_records, staff  # noqa: F401


class HelpdeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "helpdesk.admin_site.HelpdeskAdminSite"
