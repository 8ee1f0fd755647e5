"""Ticket vocabularies (design.md; extend, never rename) and the status transition map.

The transition map is data, read by the services and by the ticket page (which offers only
the moves the map allows), so the lifecycle is stated once.
"""

from datetime import timedelta

from django.db import models


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_USER = "waiting_on_user", "Waiting on user"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES: tuple[str, ...] = (
    TicketStatus.NEW,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_ON_USER,
    TicketStatus.ESCALATED,
)

# Where each status may go next. Resolved and closed tickets go back to in_progress only
# through a reopen (its own event kind), which the services treat as a transition too.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.IN_PROGRESS,
            TicketStatus.WAITING_ON_USER,
            TicketStatus.ESCALATED,
            TicketStatus.RESOLVED,
        }
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.WAITING_ON_USER, TicketStatus.ESCALATED, TicketStatus.RESOLVED}
    ),
    TicketStatus.WAITING_ON_USER: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED, TicketStatus.RESOLVED}
    ),
    TicketStatus.ESCALATED: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_USER, TicketStatus.RESOLVED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS}),
    TicketStatus.CLOSED: frozenset({TicketStatus.IN_PROGRESS}),
}

# Moves that need more than a status (an outcome, a reason): they have their own services.
DEDICATED_TRANSITIONS: dict[str, str] = {
    TicketStatus.ESCALATED: "Escalate",
    TicketStatus.RESOLVED: "Resolve",
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class Category(models.TextChoices):
    """The caller's complaint (scenarios.md's `complaint` vocabulary, plus other)."""

    ENROLLMENT_FAILURE = "enrollment_failure", "Enrollment failure"
    MISSING_PROMPT = "missing_prompt", "Missing prompt"
    CODE_REJECTED = "code_rejected", "Code rejected"
    CODE_NOT_RECEIVED = "code_not_received", "Code not received"
    LOCKED_OUT = "locked_out", "Locked out"
    LOST_DEVICE = "lost_device", "Lost device"
    OTHER = "other", "Other"


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    EMAIL = "email", "Email"
    WALK_IN = "walk_in", "Walk-in"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# How long a ticket of each priority may stay open before the SLA task escalates it. A locked
# out caller cannot work at all, hence hours rather than days even for normal tickets.
SLA_BY_PRIORITY: dict[str, timedelta] = {
    Priority.URGENT: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=4),
    Priority.NORMAL: timedelta(hours=8),
    Priority.LOW: timedelta(hours=24),
}


class Tier(models.IntegerChoices):
    L1 = 1, "Tier 1"
    L2 = 2, "Tier 2"
    SECURITY = 3, "Security"


class Outcome(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    PROMPT_RESTORED = "prompt_restored", "Prompt restored"
    CODE_ACCEPTED = "code_accepted", "Code accepted"
    RE_ENROLLED = "re_enrolled", "Re-enrolled"
    BYPASS_ISSUED = "bypass_issued", "Bypass issued"
    WORKING_AS_DESIGNED = "working_as_designed", "Working as designed"
    ESCALATED_TIER2 = "escalated_tier2", "Escalated to tier 2"
    ESCALATED_SECURITY = "escalated_security", "Escalated to security"
    ABANDONED = "abandoned", "Abandoned"


class RootCause(models.TextChoices):
    # enrollment
    ENROLLMENT_INCOMPLETE = "enrollment_incomplete"
    DEVICE_INCOMPATIBLE = "device_incompatible"
    NETWORK_UNREACHABLE = "network_unreachable"
    QR_SCAN_BLOCKED = "qr_scan_blocked"
    INVALID_MANUAL_KEY = "invalid_manual_key"
    ACTIVATION_LINK_EXPIRED = "activation_link_expired"
    ENROLLMENT_LINK_EXPIRED = "enrollment_link_expired"
    ACTIVATION_EMAIL_NOT_RECEIVED = "activation_email_not_received"
    DUPLICATE_AUTHENTICATOR_NAME = "duplicate_authenticator_name"
    INVALID_TOKEN_SERIAL = "invalid_token_serial"  # noqa: S105 - a vocabulary word
    OTP_CHANNEL_UNAVAILABLE = "otp_channel_unavailable"
    ENROLLMENT_NOT_ENFORCED = "enrollment_not_enforced"
    # prompt
    PUSH_NOTIFICATIONS_DISABLED = "push_notifications_disabled"
    DEVICE_OFFLINE = "device_offline"
    PUSH_TOKEN_STALE = "push_token_stale"  # noqa: S105 - a vocabulary word
    APP_OUTDATED = "app_outdated"
    POLICY_MISCONFIGURATION = "policy_misconfiguration"
    MFA_DISABLED = "mfa_disabled"
    REMEMBERED_DEVICE = "remembered_device"
    SESSION_STILL_VALID = "session_still_valid"
    # codes
    CLOCK_SKEW = "clock_skew"
    SMS_PROVIDER_UNCONFIGURED = "sms_provider_unconfigured"
    SMS_PROVIDER_UNHEALTHY = "sms_provider_unhealthy"
    SMS_RATE_LIMITED = "sms_rate_limited"
    PHONE_NUMBER_INVALID = "phone_number_invalid"
    CARRIER_DELAY = "carrier_delay"
    EMAIL_CODE_FILTERED = "email_code_filtered"
    CODE_EXPIRED = "code_expired"
    # access
    USER_LOCKED_OUT = "user_locked_out"
    LOST_DEVICE = "lost_device"
    FALLBACK_DISABLED = "fallback_disabled"
    USER_DISABLED = "user_disabled"
    AUTHENTICATOR_DISABLED = "authenticator_disabled"
    NO_AUTHENTICATOR = "no_authenticator"
    ACCESS_RULE_DENIES = "access_rule_denies"
    FRAUD_REPORTED = "fraud_reported"


class EventKind(models.TextChoices):
    """What a trail row records. Later features add kinds here (extend, never rename) and
    register a payload model for each in helpdesk.services.audit."""

    OPENED = "ticket.opened", "Opened"
    ASSIGNED = "ticket.assigned", "Assigned"
    STATUS_CHANGED = "ticket.status_changed", "Status changed"
    PRIORITY_CHANGED = "ticket.priority_changed", "Priority changed"
    COMMENTED = "ticket.commented", "Internal comment"
    ESCALATED = "ticket.escalated", "Escalated"
    RESOLVED = "ticket.resolved", "Resolved"
    REOPENED = "ticket.reopened", "Reopened"
    SESSION_STEP = "session.step", "Guided step"
    CHECK_RESULT = "check.result", "Check result"
    IDENTITY_VERIFIED = "identity.verified", "Identity verification"
    RECOVERY_ACTION = "recovery.action", "Recovery action"
    # Streams that belong to no ticket (policy and staff changes) use these.
    POLICY_CHANGED = "admin.policy_changed", "Policy changed"
    STAFF_CHANGED = "admin.staff_changed", "Staff changed"
    BULK_ENROLLMENT = "admin.bulk_enrollment", "Bulk enrollment"
    PLAYBOOK_CHANGED = "admin.playbook_changed", "Playbook changed"
    # A record changed through the Django admin (only what no guarded service owns).
    RECORD_CHANGED = "admin.record_changed", "Record changed in the admin"
    DIRECTORY_SYNCED = "admin.directory_synced", "Directory synced from the MFA service"
