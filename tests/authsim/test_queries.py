"""Query counts of the port's report reads: the same literal count at 1 and at 3+ rows."""

from datetime import timedelta

import pytest

from authsim.models import Attempt
from enrollment import clock
from enrollment.mfa import get_mfa_service
from tests.authsim.factories import world
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def _with_devices(count: int):
    user = world(devices=[{"key": "phone"}])
    for _ in range(count - 1):
        DeviceFactory(end_user=user)
    return user


def _with_attempts(count: int):
    user = world()
    now = clock.now()
    for n in range(count):
        Attempt.objects.create(
            end_user=user,
            factor="push",
            status="final",
            result="denied",
            reason="no_response",
            created_at=now - timedelta(minutes=n),
        )
    return user


@pytest.mark.parametrize("rows", [1, 3, 7])
def test_device_report_is_one_query(rows, django_assert_num_queries):
    user = _with_devices(rows)
    service = get_mfa_service()
    with django_assert_num_queries(1):
        reports = service.device_report(end_user_id=user.pk)
    assert len(reports) == rows


@pytest.mark.parametrize("rows", [1, 3, 7])
def test_auth_log_is_one_query(rows, django_assert_num_queries):
    user = _with_attempts(rows)
    service = get_mfa_service()
    clock.now()  # the clock offset is cached once per process
    with django_assert_num_queries(1):
        log = service.auth_log(end_user_id=user.pk)
    assert len(log) == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_delivery_log_is_one_query(
    rows, django_assert_num_queries, django_capture_on_commit_callbacks
):
    user = world()
    service = get_mfa_service()
    for _ in range(rows):
        service.notify_end_user(end_user_id=user.pk, subject="Notice", body="Hello")
    with django_assert_num_queries(1):
        log = service.delivery_log(end_user_id=user.pk)
    assert len(log) == rows
