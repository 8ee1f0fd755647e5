from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from enrollment import clock
from enrollment.models import ClockOffset

pytestmark = pytest.mark.django_db


def test_clock_starts_at_real_time():
    assert clock.offset() == timedelta(0)
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=1)


def test_advance_moves_now_forward_and_accumulates():
    clock.advance(timedelta(hours=2))
    clock.advance(timedelta(minutes=30))

    assert clock.offset() == timedelta(hours=2, minutes=30)
    assert ClockOffset.objects.get().offset == timedelta(hours=2, minutes=30)
    assert abs(clock.now() - timezone.now() - timedelta(hours=2, minutes=30)) < timedelta(seconds=1)


def test_advance_by_a_negative_delta_moves_back():
    clock.advance(timedelta(days=1))
    clock.advance(timedelta(hours=-25))

    assert clock.offset() == timedelta(hours=-1)


def test_reset_returns_to_real_time():
    clock.advance(timedelta(days=31))

    clock.reset()

    assert clock.offset() == timedelta(0)
    assert ClockOffset.objects.get().offset == timedelta(0)


def test_offset_survives_a_cache_clear():
    clock.advance(timedelta(seconds=90))

    cache.clear()

    assert clock.offset() == timedelta(seconds=90)


def test_reading_the_clock_queries_once_then_uses_the_cache(django_assert_num_queries):
    clock.advance(timedelta(minutes=5))

    with django_assert_num_queries(1):
        clock.offset()
    with django_assert_num_queries(0):
        assert clock.offset() == timedelta(minutes=5)
        clock.now()


def test_advance_drops_an_offset_another_process_cached():
    clock.offset()  # caches zero, as another process reading the clock would
    assert cache.get(clock.CACHE_KEY) == 0

    clock.advance(timedelta(minutes=1))

    assert cache.get(clock.CACHE_KEY) is None
    assert clock.offset() == timedelta(minutes=1)


def test_sub_second_offsets_round_trip():
    clock.advance(timedelta(seconds=1, microseconds=250))
    cache.clear()

    assert clock.offset() == timedelta(seconds=1, microseconds=250)
