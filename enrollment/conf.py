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
