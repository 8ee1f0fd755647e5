from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.roles import RANK, Capability, Role


def _assignable_roles(actor: Staff) -> list[tuple[str, str]]:
    """Roles `actor` may give: owners any; others only roles strictly below their own."""
    if actor.has_capability(Capability.MANAGE_ADMINISTRATORS):
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if RANK[value] > RANK[actor.role]]


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
        if target is None or actor.has_capability(Capability.MANAGE_ADMINISTRATORS):
            return True
        # Nobody but an owner changes themselves or anyone at or above their own rank.
        return target.pk != actor.pk and RANK[target.role] > RANK[actor.role]

    def has_change_permission(self, request, obj=None) -> bool:
        return self._can_manage(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._can_manage(request.user, obj) and (obj is None or obj.pk != request.user.pk)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "role":
            return forms.ChoiceField(choices=_assignable_roles(request.user), label="Role")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    filter_horizontal = ["groups", "staff"]
    search_fields = ["name"]
