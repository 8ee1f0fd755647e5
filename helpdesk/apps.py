from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk"
    default = True

    def ready(self) -> None:
        # The staff-change and admin-record payload models, registered with the audit trail
        # at start-up.
        # After every migrate, the runtime database role gets its (narrower) grants.
        from django.db.models.signals import post_migrate

        from helpdesk.db_roles import grant_after_migrate
        from helpdesk.services import admin_records, staff  # noqa: F401

        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="helpdesk-db-roles")


class HelpdeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "helpdesk.admin_site.HelpdeskAdminSite"
