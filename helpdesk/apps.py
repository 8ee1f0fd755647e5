from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk"
    default = True


class HelpdeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "helpdesk.admin_site.HelpdeskAdminSite"
