"""Shared fixtures: persona staff for every role and clients signed in as them."""

import os
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from helpdesk.models import Staff
from helpdesk.roles import Role
from tests.factories import StaffFactory, TOTPDeviceFactory

REQUIRE_ALL = os.environ.get("REQUIRE_ALL_TESTS", "").lower() in {"1", "true", "yes"}


def _let_test_teardown_flush_protected_tables() -> None:
    """Transactional tests (browser journeys, real workers, concurrency) end with Django's
    flush, a TRUNCATE of every table. The audit trail's triggers rightly refuse TRUNCATE, so
    that one teardown step, and nothing else, runs with pgtrigger's triggers ignored."""
    import pgtrigger
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        if not settings.USING_POSTGRES:
            return original(self)
        with pgtrigger.ignore():
            return original(self)

    TransactionTestCase._fixture_teardown = _fixture_teardown


_let_test_teardown_flush_protected_tables()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (REQUIRE_ALL_TESTS=1) a skipped test is a failure: a browser journey that
    silently skips because Chromium is missing must not pass as green."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but REQUIRE_ALL_TESTS is set: {reason}"


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_in_process():
    """Tasks run where they are enqueued, whether or not REDIS_URL names a broker, so a
    test sees their effects without a worker. tests/test_celery_worker.py runs a real
    worker over Redis instead."""
    from helpdesk.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the production hasher; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def analyze_tables() -> None:
    """Refreshes PostgreSQL's planner statistics for every table, counting the rows this
    test's transaction wrote. Tests that write thousands of rows and then run report-sized
    queries call it, as autovacuum would have by then: the plans it picks for a table it last
    saw empty nest loops without end."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def make_staff(role: str, username: str | None = None, **kwargs) -> Staff:
    staff = StaffFactory(role=role, username=username or f"persona-{role}", **kwargs)
    TOTPDeviceFactory(user=staff)
    return staff


@pytest.fixture
def owner(db) -> Staff:
    return make_staff(Role.OWNER)


@pytest.fixture
def administrator(db) -> Staff:
    return make_staff(Role.ADMINISTRATOR)


@pytest.fixture
def user_manager(db) -> Staff:
    return make_staff(Role.USER_MANAGER)


@pytest.fixture
def technician(db) -> Staff:
    return make_staff(Role.HELPDESK)


@pytest.fixture
def supervisor(db) -> Staff:
    return make_staff(Role.SUPERVISOR)


@pytest.fixture
def auditor(db) -> Staff:
    return make_staff(Role.READ_ONLY)


@pytest.fixture
def persona(db) -> Callable[[str], Staff]:
    """persona(role) -> that role's persona staff member (created once per test)."""
    return lambda role: make_staff(role)


def sign_in(client: Client, staff: Staff) -> Client:
    """Signs `client` in as `staff` with the TOTP step already passed."""
    client.force_login(staff)
    if settings.STAFF_MFA_REQUIRED:
        device = staff.totpdevice_set.filter(confirmed=True).first()
        if device is None:
            device = TOTPDeviceFactory(user=staff)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for(db) -> Callable[[Staff], Client]:
    """client_for(staff) -> a fresh test client signed in (password + TOTP) as staff."""
    return lambda staff: sign_in(Client(), staff)


@pytest.fixture
def live_worker():
    """A real Celery worker consuming from the broker (REDIS_URL), tasks no longer eager."""
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    app.conf.task_always_eager = False
    try:
        # The worker runs in a thread of this process, sharing the test database.
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def wait_for(predicate: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Poll until predicate() is true or the time is up (for work done by a live worker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
