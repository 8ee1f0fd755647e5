"""The directory's vocabularies, exactly as design.md names them (extend, never rename)."""

from django.db import models


class UserStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PENDING_ENROLLMENT = "pending_enrollment", "Pending enrollment"
    BYPASS = "bypass", "Bypass"
    LOCKED_OUT = "locked_out", "Locked out"
    DISABLED = "disabled", "Disabled"


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    LANDLINE = "landline", "Landline"
    HARDWARE_TOKEN = "hardware_token", "Hardware token"
    SECURITY_KEY = "security_key", "Security key"
    DESKTOP = "desktop", "Desktop"
    # A device the MFA service names but does not describe (privacyIDEA's token description).
    UNREPORTED = "unreported", "Not reported by the service"


class Method(models.TextChoices):
    """Authenticator methods; also the factors a policy allows."""

    PUSH = "push", "Push"
    TOTP = "totp", "Authenticator app code (TOTP)"
    HOTP_TOKEN = "hotp_token", "Hardware token (HOTP)"
    SMS = "sms", "SMS passcode"
    VOICE = "voice", "Phone call"
    EMAIL = "email", "Email passcode"
    WEBAUTHN = "webauthn", "Security key (WebAuthn)"
    BACKUP_CODES = "backup_codes", "Backup codes"


class AuthenticatorStatus(models.TextChoices):
    PENDING_ACTIVATION = "pending_activation", "Pending activation"
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"
    REVOKED = "revoked", "Revoked"


class EnrollmentStage(models.TextChoices):
    """Stages in the order an end user reaches them."""

    INVITED = "invited", "Invited"
    LINK_OPENED = "link_opened", "Link opened"
    APP_INSTALLED = "app_installed", "App installed"
    CODE_SCANNED = "code_scanned", "Code scanned"
    ACTIVATED = "activated", "Activated"
    VERIFIED = "verified", "Verified"


class EnrollmentError(models.TextChoices):
    """Terminal errors an enrollment can hit."""

    LINK_EXPIRED = "link_expired", "Enrollment link expired"
    ACTIVATION_EXPIRED = "activation_expired", "Activation expired"
    DUPLICATE_NAME = "duplicate_name", "Duplicate authenticator name"
    INVALID_KEY = "invalid_key", "Invalid manual key"
    INVALID_SERIAL = "invalid_serial", "Invalid token serial"
    DEVICE_INCOMPATIBLE = "device_incompatible", "Device incompatible"


class PolicyScope(models.TextChoices):
    GLOBAL = "global", "Global"
    APPLICATION = "application", "Application"
    GROUP = "group", "Group"


class Enforcement(models.TextChoices):
    EVERY_LOGIN = "every_login", "Every login"
    NEW_DEVICES_ONLY = "new_devices_only", "New devices only"


# --- Vocabularies of the MFA service port (enrollment/mfa.py) -----------------------------------


class AttemptStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FINAL = "final", "Final"


class AttemptResult(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    FRAUD = "fraud", "Fraud"
    ERROR = "error", "Error"


class AuthReason(models.TextChoices):
    """Why a sign-in attempt ended as it did, in the style of Duo's auth log."""

    USER_APPROVED = "user_approved", "User approved"
    VALID_PASSCODE = "valid_passcode", "Valid passcode"
    REMEMBERED_DEVICE = "remembered_device", "Remembered device"
    BYPASS_USER = "bypass_user", "Bypass user"
    ALLOWED_BY_POLICY = "allowed_by_policy", "Allowed by policy"
    NO_RESPONSE = "no_response", "No response"
    INVALID_PASSCODE = "invalid_passcode", "Invalid passcode"
    LOCKED_OUT = "locked_out", "Locked out"
    USER_DISABLED = "user_disabled", "User disabled"
    DENIED_BY_POLICY = "denied_by_policy", "Denied by policy"
    FACTOR_RESTRICTED = "factor_restricted", "Factor restricted"
    DENY_UNENROLLED_USER = "deny_unenrolled_user", "Unenrolled user denied"
    NO_ACTIVATED_APP = "no_activated_app", "No activated app"
    OUT_OF_DATE = "out_of_date", "Out of date"
    PLATFORM_RESTRICTED = "platform_restricted", "Platform restricted"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    USER_MARKED_FRAUD = "user_marked_fraud", "User marked fraud"
    # Beyond design.md's examples, reported by the service as well:
    VALID_SESSION = "valid_session", "Still-valid session (no prompt)"
    USER_DENIED = "user_denied", "User denied"
    UNKNOWN_USER = "unknown_user", "Unknown user"


class Channel(models.TextChoices):
    PUSH = "push", "Push"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice"
    EMAIL = "email", "Email"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    DELAYED = "delayed", "Delayed"
    FILTERED = "filtered", "Filtered"
    RATE_LIMITED = "rate_limited", "Rate limited"


class PushStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    FRAUD = "fraud", "Marked as fraud"
    TIMED_OUT = "timed_out", "Timed out"
    FAILED = "failed", "Failed"


# --- Recovery actions and identity verification (issue 5) ----------------------------------------


class VerificationMethod(models.TextChoices):
    """How a caller's identity was verified. Knowledge questions are deliberately absent:
    anything a caller can be told or look up proves nothing."""

    PUSH = "push", "Verification push to an active device"
    CALLBACK = "callback", "Callback to the phone number of record"
    SUPERVISOR = "supervisor", "Supervisor approval"


class VerificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    VERIFIED = "verified", "Verified"
    FAILED = "failed", "Failed"


class ApprovalKind(models.TextChoices):
    IDENTITY = "identity", "Identity of the caller"
    ACTION = "action", "Second approver for an action"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    USED = "used", "Used"


class BulkAction(models.TextChoices):
    """What a bulk enrollment job does to each end user it targets."""

    REMINDER = "reminder", "Send a reminder"
    RESET = "reset", "Reset enrollment"


class BulkJobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


class BulkItemState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
