"""The two kinds of ModelAdmin the helpdesk allows (a test walks admin.site._registry and
holds every registration to one of them):

- ReadOnlyAdmin: what a guarded service owns (end users' status, privileged flag and
  contacts, devices, authenticators, bypass codes, identity verifications, policies, staff
  and units …) is looked at here, never changed: no add, change or delete.
- AuditedAdmin: the few records the admin may still change; every save writes an
  "admin.record_changed" event (helpdesk.services.admin_records) in the same transaction,
  with the old and new value of each changed field. Deleting is not offered.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from helpdesk.services.admin_records import admin_record_changed


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Many-to-many values are saved later (save_related), so the event waits for them.
        request._admin_audit_pending = (obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj, form, change = request._admin_audit_pending
        changes = {
            name: (form.initial.get(name) if change else None, form.cleaned_data.get(name))
            for name in form.changed_data
        }
        if change and not changes:
            return
        admin_record_changed(
            actor=request.user,
            action="changed" if change else "added",
            model_label=obj._meta.label,
            object_id=obj.pk,
            object_repr=str(obj),
            changes=changes,
        )
