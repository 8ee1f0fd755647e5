"""The clock the directory and the MFA service read: real time plus a shared offset.

Everything time-based (link, activation and bypass-code expiry, TOTP time, pushes timing out,
carrier delay) reads `now()` instead of `django.utils.timezone.now()`, so the simulator and the
tests reach an expiry by advancing this clock rather than by sleeping. The offset lives in a
one-row table so every web and worker process agrees on it, and is cached in Django's cache
(invalidated by `advance()` and `reset()`) so reading the clock normally costs no query.
"""

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from enrollment import conf

CACHE_KEY = "enrollment:clock-offset-us"
ROW_ID = 1


def offset() -> timedelta:
    """How far the clock runs ahead of real time (zero unless advanced)."""
    micros = cache.get(CACHE_KEY)
    if micros is None:
        from enrollment.models import ClockOffset

        stored = ClockOffset.objects.filter(pk=ROW_ID).values_list("offset", flat=True).first()
        micros = _to_micros(stored or timedelta(0))
        cache.set(CACHE_KEY, micros, conf.clock_cache_seconds())
    return timedelta(microseconds=micros)


def now() -> datetime:
    """The current time as the directory and the MFA service see it (aware, UTC)."""
    return timezone.now() + offset()


def advance(delta: timedelta) -> None:
    """Moves the clock forward (or back, with a negative delta) for every process.

    Side effects: writes the offset row and drops the cached offset.
    """
    from enrollment.models import ClockOffset

    with transaction.atomic():
        row, _ = ClockOffset.objects.select_for_update().get_or_create(pk=ROW_ID)
        row.offset += delta
        row.save(update_fields=["offset"])
    _forget()


def reset() -> None:
    """Puts the clock back to real time. Side effects: as `advance()`."""
    from enrollment.models import ClockOffset

    ClockOffset.objects.update_or_create(pk=ROW_ID, defaults={"offset": timedelta(0)})
    _forget()


def _forget() -> None:
    cache.delete(CACHE_KEY)
    # Inside an outer transaction another process could re-cache the old value before commit;
    # dropping it again once the change is visible closes that window.
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def _to_micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
