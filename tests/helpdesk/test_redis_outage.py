"""The desk keeps working with Redis stopped: cache reads miss (helpdesk.cache), tasks that
cannot be enqueued wait in the outbox and are sent when the broker is back (helpdesk.outbox),
the ticket page says a notification is delayed, and /readyz reports each dependency.

Redis here is a PRIVATE redis-server on a free port, started and stopped by the fixture; the
shared server the other tests use is never touched."""

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.urls import reverse

from enrollment import clock
from enrollment.models import BypassCode
from helpdesk.celery import app
from helpdesk.models import TaskOutbox, Ticket
from helpdesk.outbox import outbox_send
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    desk_fixture,
    verify_caller,
)

pytestmark = pytest.mark.django_db


class PrivateRedis:
    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # Fixed arguments and our own port: nothing untrusted reaches the command line.
        self.process = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1",
             "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def queued(self) -> int:
        return redis.Redis.from_url(self.url).llen("celery")


@pytest.fixture
def private_redis(settings):
    """Cache and broker pointed at a private redis-server (started, so connections are made
    while it runs), tasks no longer run in-process. Restores everything afterwards."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "helpdesk.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = server.url, False
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url, app.conf.task_always_eager = previous
        app._pool = None
        app.amqp._producer_pool = None


def test_cache_reads_miss_and_writes_are_skipped_while_redis_is_down(private_redis):
    cache.set("probe", 1)
    assert cache.get("probe") == 1
    private_redis.stop()

    started = time.monotonic()
    assert cache.get("probe", "missed") == "missed"
    cache.set("probe", 2)
    cache.delete("probe")
    assert time.monotonic() - started < 5


def test_the_simulated_clock_reads_the_database_while_redis_is_down(private_redis):
    private_redis.stop()

    clock.advance(timedelta(minutes=5))

    assert clock.offset() == timedelta(minutes=5)


def test_every_technician_page_answers_with_redis_stopped_and_nothing_is_lost(
    private_redis, desk, client_for, django_capture_on_commit_callbacks
):
    client = client_for(desk.technician)
    ticket_kwargs = {"ticket_pk": desk.ticket.pk}
    private_redis.stop()

    def post(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    assert client.get(reverse("helpdesk:ticket-queue")).status_code == 200
    opened = post(
        reverse("helpdesk:ticket-open") + f"?end_user={desk.end_user.pk}",
        {"subject": "Second call", "category": "locked_out", "channel": "phone",
         "priority": "normal", "end_user": desk.end_user.pk},
    )  # fmt: skip
    assert opened.status_code == 302
    pk = desk.ticket.pk
    assert client.get(reverse("helpdesk:ticket-detail", kwargs={"pk": pk})).status_code == 200
    assert client.get(reverse("helpdesk:ticket-mfa-picture", kwargs={"pk": pk})).status_code == 200
    comment = post(reverse("helpdesk:ticket-comment", kwargs={"pk": pk}), {"body": "Called"})
    assert comment.status_code == 302
    assert client.get(reverse("enrollment:ticket-actions", kwargs=ticket_kwargs)).status_code == 200
    push = post(
        reverse("enrollment:identity-push", kwargs=ticket_kwargs), {"device": desk.phone.pk}
    )
    assert push.status_code == 302
    callback = post(
        reverse("enrollment:identity-callback", kwargs=ticket_kwargs),
        {"phone_number": desk.end_user.mobile, "confirmed": "on"},
    )
    assert callback.status_code == 302
    bypass = post(
        reverse(
            "enrollment:ticket-action", kwargs={**ticket_kwargs, "action": "bypass_code_issue"}
        ),
        {"reason": "Phone broken"},
    )
    assert bypass.status_code == 200
    assert BypassCode.objects.filter(end_user=desk.end_user).count() == 1
    start = post(reverse("troubleshooting:start", kwargs=ticket_kwargs), {})
    assert start.status_code in (200, 302)
    assert client.get(reverse("troubleshooting:ticket", kwargs=ticket_kwargs)).status_code == 200

    # The push delivery and the bypass notice wait in the outbox; the ticket page says so.
    pending = list(TaskOutbox.objects.filter(sent_at__isnull=True).values_list("task", flat=True))
    assert sorted(pending) == [
        "authsim.tasks.deliver_push",
        "enrollment.tasks.notify_end_user_of_recovery",
    ]
    page = client.get(reverse("helpdesk:ticket-detail", kwargs={"pk": pk})).content.decode()
    assert "2 notifications to this end user" in page
    assert Ticket.objects.count() == 2

    # Redis is back: the beat job sends them, in order, and the notice goes away.
    private_redis.start()
    assert outbox_send() == 2
    assert private_redis.queued() == 2
    assert not TaskOutbox.objects.filter(sent_at__isnull=True).exists()
    page = client.get(reverse("helpdesk:ticket-detail", kwargs={"pk": pk})).content.decode()
    assert "notifications to this end user" not in page


def test_outbox_send_stops_at_the_first_refusal_and_keeps_the_rest(private_redis, desk):
    TaskOutbox.objects.create(
        task="helpdesk.tasks.verify_audit_chains", kwargs={}, created_at=clock.now()
    )
    private_redis.stop()

    assert outbox_send() == 0

    row = TaskOutbox.objects.get()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error


def test_readyz_reports_each_dependency(private_redis, client):
    up = client.get(reverse("readyz"))
    private_redis.stop()
    down = client.get(reverse("readyz"))

    assert (up.status_code, up.json()) == (
        200,
        {"status": "ok", "database": "ok", "redis": "ok", "broker": "ok"},
    )
    assert (down.status_code, down.json()) == (
        200,
        {"status": "degraded", "database": "ok", "redis": "down", "broker": "down"},
    )


def test_healthz_stays_a_liveness_check_with_redis_down(private_redis, client):
    private_redis.stop()

    response = client.get(reverse("healthz"))

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_without_redis_configured_reports_in_process(client, settings):
    settings.REDIS_URL = None

    response = client.get(reverse("readyz"))

    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "broker": "in-process",
    }
