from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.permissions import assignable_roles, can_manage_staff_member


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "password1", "password2", "role"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def _can_manage(self, actor: Staff, target: Staff | None) -> bool:
        # The same rule as the staff pages (helpdesk.permissions).
        return can_manage_staff_member(actor, target)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._can_manage(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._can_manage(request.user, obj) and (obj is None or obj.pk != request.user.pk)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "role":
            return forms.ChoiceField(choices=assignable_roles(request.user), label="Role")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    filter_horizontal = ["groups", "staff"]
    search_fields = ["name"]
