"""The simulated service's own console in the admin (owners and administrators only).

Provider state is editable: flipping the SMS provider to unhealthy here is how an
administrator injects a provider fault without a scenario file (each save an
"admin.record_changed" event). The service's records (auth
log, pushes, deliveries, fraud reports) are read-only and limited to the staff member's
administrative units, like every record about an end user.
"""

from django.contrib import admin
from django.http import HttpRequest

from authsim.models import Attempt, Delivery, FraudReport, ProviderState, Push
from enrollment.admin import EndUserScopedAdmin
from helpdesk.admin_audit import AuditedAdmin


@admin.register(ProviderState)
class ProviderStateAdmin(AuditedAdmin):
    list_display = [
        "__str__",
        "sms_configured",
        "sms_healthy",
        "sms_rate_limited",
        "sms_carrier_delay_seconds",
        "email_healthy",
        "email_sender_filtered",
        "voice_healthy",
        "push_healthy",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row (pk=1), created on first use.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyServiceRecordAdmin(EndUserScopedAdmin):
    list_select_related = ["end_user"]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyServiceRecordAdmin):
    list_display = ["created_at", "end_user", "application", "factor", "status", "result", "reason"]
    list_filter = ["result", "reason", "factor", "status"]
    search_fields = ["end_user__username", "application", "public_id"]
    date_hierarchy = "created_at"


@admin.register(Push)
class PushAdmin(ReadOnlyServiceRecordAdmin):
    list_display = ["created_at", "end_user", "device", "context", "status"]
    list_select_related = ["end_user", "device"]
    list_filter = ["status"]
    search_fields = ["end_user__username", "public_id"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyServiceRecordAdmin):
    list_display = ["created_at", "end_user", "channel", "kind", "status", "detail"]
    list_filter = ["channel", "kind", "status"]
    search_fields = ["end_user__username", "recipient"]
    # The code of a message is the end user's secret: never shown here.
    exclude = ["code"]


@admin.register(FraudReport)
class FraudReportAdmin(ReadOnlyServiceRecordAdmin):
    list_display = ["created_at", "end_user", "detail", "resolved_at"]
    search_fields = ["end_user__username", "public_id"]
