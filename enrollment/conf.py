"""Optional settings of the directory, each with its default.

Read through these helpers so that tests can override a setting with pytest-django's
`settings` fixture and see the change at once.
"""

from datetime import timedelta

from django.conf import settings


def enrollment_link_lifetime() -> timedelta:
    """How long an enrollment link stays valid (the vendor default is 30 days)."""
    return timedelta(days=getattr(settings, "ENROLLMENT_LINK_DAYS", 30))


def activation_link_lifetime() -> timedelta:
    """How long an activation link stays valid (the vendor default is 24 hours)."""
    return timedelta(hours=getattr(settings, "ACTIVATION_LINK_HOURS", 24))


def clock_cache_seconds() -> int:
    """How long a process may trust the cached clock offset.

    With a shared cache (Redis) `advance()` invalidates it for every process at once; with a
    process-local cache this bounds how long another process can lag behind.
    """
    return getattr(settings, "SIMULATED_CLOCK_CACHE_SECONDS", 300)


# --- Recovery actions (issue 5) -------------------------------------------------------------------


def identity_verification_lifetime() -> timedelta:
    """How long a verified caller identity counts on the ticket it was recorded on."""
    return timedelta(minutes=getattr(settings, "IDENTITY_VERIFICATION_MINUTES", 15))


def approval_lifetime() -> timedelta:
    """How long a supervisor's approval (second approver or identity) may wait to be used."""
    return timedelta(minutes=getattr(settings, "RECOVERY_APPROVAL_MINUTES", 30))


def bypass_code_digits() -> int:
    """Digits in a bypass code; never fewer than 9, whatever the setting says."""
    return max(9, int(getattr(settings, "BYPASS_CODE_DIGITS", 10)))


def bypass_code_lifetime_default() -> timedelta:
    """A bypass code's lifetime when the technician does not choose one (vendor default 1 h)."""
    return timedelta(minutes=getattr(settings, "BYPASS_CODE_MINUTES", 60))


def bypass_code_lifetime_max() -> timedelta:
    """The longest lifetime a technician may choose for a bypass code."""
    return timedelta(minutes=getattr(settings, "BYPASS_CODE_MAX_MINUTES", 240))


def bypass_codes_per_issue_max() -> int:
    """How many codes one issue may create."""
    return int(getattr(settings, "BYPASS_CODES_PER_ISSUE_MAX", 3))


def bypass_codes_active_max() -> int:
    """How many usable codes one end user may hold at once."""
    return int(getattr(settings, "BYPASS_CODES_ACTIVE_MAX", 5))


def recovery_rate_window() -> timedelta:
    """The sliding window the recovery rate limits count over."""
    return timedelta(minutes=getattr(settings, "RECOVERY_RATE_WINDOW_MINUTES", 60))


def recovery_rate_limit_per_technician() -> int:
    """Recovery actions one staff member may perform per window (all end users)."""
    return int(getattr(settings, "RECOVERY_RATE_LIMIT_PER_TECHNICIAN", 30))


def recovery_rate_limit_per_end_user() -> int:
    """Recovery actions performed on one end user per window (all staff)."""
    return int(getattr(settings, "RECOVERY_RATE_LIMIT_PER_END_USER", 6))
