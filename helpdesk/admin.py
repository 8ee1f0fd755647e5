"""Staff and administrative units in the Django admin: read-only.

Creating staff, giving roles and binding units go through helpdesk.services.staff (the
staff pages), which hold the rank and unit rules and write the audit trail; the admin's own
forms would skip both (a unit-bound administrator could leave their unit, a new account's
password would be known to its creator). The same holds for the third-party records the
admin would otherwise offer: staff TOTP devices (their keys included), sign-in throttling
records and Django's permission groups (the helpdesk's roles replace them).
"""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group as PermissionGroup
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.admin_audit import ReadOnlyAdmin
from helpdesk.models import AdministrativeUnit, Staff

for model in (PermissionGroup, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Staff)
class StaffAdmin(ReadOnlyAdmin, UserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = [
        (None, {"fields": ["username"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(ReadOnlyAdmin):
    list_display = ["name", "description"]
    fields = ["name", "description", "groups", "staff"]
    search_fields = ["name"]


# Sign-in throttling: read here; a lockout ends by its cool-off, not by an admin's delete.
for model, base in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (ReadOnlyAdmin, base), {}))
