"""Django admin for the directory (owners and administrators only, see helpdesk.admin_site).

End-user records are limited to the staff member's administrative units here too, so an
administrator bound to a unit cannot read other units' end users through the admin.

Whatever a guarded service owns is read-only here: end users (status, privileged flag,
contacts of record, groups), devices, authenticators, enrollments and their links, bypass
codes, identity verifications and policies. Unlocking a user, clearing "privileged" or
replacing the number a callback will ring goes through the services, with their guards, a
reason and an event. Groups (but not their privileged flag) and applications stay editable,
each save an "admin.record_changed" event (helpdesk.admin_audit).
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from enrollment.models import (
    ActivationLink,
    Application,
    Authenticator,
    BypassCode,
    Device,
    EndUser,
    Enrollment,
    EnrollmentLink,
    Group,
    IdentityVerification,
    Policy,
)
from helpdesk.admin_audit import AuditedAdmin, ReadOnlyAdmin
from helpdesk.scoping import end_user_scope_q


def _visible_end_users(request: HttpRequest) -> QuerySet[EndUser]:
    return EndUser.objects.filter(end_user_scope_q(request.user)).values("pk")


class EndUserScopedAdmin(ReadOnlyAdmin):
    """For records that belong to an end user: only those in the staff member's units, and
    read-only (services own them)."""

    end_user_path = "end_user"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if end_user_scope_q(request.user):
            queryset = queryset.filter(**{f"{self.end_user_path}__in": _visible_end_users(request)})
        return queryset


@admin.register(Group)
class GroupAdmin(AuditedAdmin):
    list_display = ["name", "privileged", "description"]
    list_filter = ["privileged"]
    search_fields = ["name", "description"]
    # Whether a group's members need a second approver is a guard, not a label.
    readonly_fields = ["privileged"]


@admin.register(Application)
class ApplicationAdmin(AuditedAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    fields = ["name", "platform", "os_version", "app_version", "push_capable", "last_seen_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EndUser)
class EndUserAdmin(EndUserScopedAdmin):
    end_user_path = "pk"
    list_display = ["username", "full_name", "email", "mobile", "status", "privileged"]
    list_filter = ["status", "privileged", "groups"]
    search_fields = ["username", "full_name", "email", "mobile", "phone"]
    filter_horizontal = ["groups"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [DeviceInline]


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    # Policies change on the policy pages (enrollment.services.policy: workability checks,
    # a reason, an admin.policy_changed event).
    list_display = ["__str__", "scope", "priority", "mfa_enabled", "enforcement", "default_method"]
    list_filter = ["scope", "mfa_enabled", "enforcement"]
    list_select_related = ["application", "group"]
    search_fields = ["application__name", "group__name", "description"]
    filter_horizontal = ["exempt_groups", "permitted_groups"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        ("Scope", {"fields": ["scope", "application", "group", "priority", "description"]}),
        (
            "Sign-in (empty = inherit from the less specific scope)",
            {
                "fields": [
                    "mfa_enabled",
                    "enforcement",
                    "allowed_methods",
                    "default_method",
                    "allow_fallback",
                    "enrollment_required",
                    "remembered_device_days",
                ]
            },
        ),
        (
            "Codes and lockout",
            {
                "fields": [
                    "max_invalid_attempts",
                    "max_invalid_attempts_unlimited",
                    "code_timeout_seconds",
                    "push_timeout_seconds",
                    "resend_limit",
                ]
            },
        ),
        ("Device requirements", {"fields": ["min_os_versions", "min_app_version"]}),
        (
            "Groups (tick 'sets' to override the inherited list, even with an empty one)",
            {
                "fields": [
                    "sets_exempt_groups",
                    "exempt_groups",
                    "sets_permitted_groups",
                    "permitted_groups",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Device)
class DeviceAdmin(EndUserScopedAdmin):
    list_display = ["name", "end_user", "platform", "os_version", "app_version", "push_capable"]
    list_filter = ["platform", "push_capable"]
    list_select_related = ["end_user"]
    search_fields = ["name", "end_user__username"]
    raw_id_fields = ["end_user"]
    readonly_fields = ["created_at"]


@admin.register(Authenticator)
class AuthenticatorAdmin(EndUserScopedAdmin):
    list_display = ["__str__", "end_user", "method", "status", "serial", "failure_count"]
    list_filter = ["method", "status"]
    list_select_related = ["end_user"]
    search_fields = ["name", "serial", "end_user__username"]
    raw_id_fields = ["end_user", "device"]
    readonly_fields = ["created_at"]


@admin.register(Enrollment)
class EnrollmentAdmin(EndUserScopedAdmin):
    list_display = ["end_user", "stage", "error", "started_at", "completed_at"]
    list_filter = ["stage", "error"]
    list_select_related = ["end_user"]
    search_fields = ["end_user__username"]
    raw_id_fields = ["end_user", "authenticator"]
    readonly_fields = ["updated_at"]


@admin.register(EnrollmentLink)
class EnrollmentLinkAdmin(EndUserScopedAdmin):
    list_display = ["end_user", "created_at", "enroll_by", "sent_count", "last_sent_at"]
    list_select_related = ["end_user"]
    search_fields = ["end_user__username"]
    raw_id_fields = ["end_user"]


@admin.register(ActivationLink)
class ActivationLinkAdmin(EndUserScopedAdmin):
    end_user_path = "authenticator__end_user"
    list_display = ["authenticator", "created_at", "expires_at", "used_at"]
    list_select_related = ["authenticator"]
    search_fields = ["authenticator__end_user__username"]
    raw_id_fields = ["authenticator"]


@admin.register(BypassCode)
class BypassCodeAdmin(EndUserScopedAdmin):
    list_display = ["end_user", "created_by", "created_at", "expires_at", "used_at", "revoked_at"]
    list_select_related = ["end_user", "created_by"]
    search_fields = ["end_user__username"]
    fields = [
        "end_user",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "reason",
    ]
    readonly_fields = fields


@admin.register(IdentityVerification)
class IdentityVerificationAdmin(EndUserScopedAdmin):
    list_display = ["ticket", "end_user", "method", "status", "requested_by", "created_at"]
    list_filter = ["method", "status"]
    list_select_related = ["end_user", "requested_by"]
    search_fields = ["end_user__username"]
