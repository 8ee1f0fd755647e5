"""Serve the app with gunicorn on loopback against PostgreSQL and measure the pages people use.

Both sizes, back to back (seed each database first with `manage.py seed_load`, see
bench/README.md):

    .venv/bin/python bench/run.py --database-url postgres://…/helpdesk_bench_10k
    .venv/bin/python bench/run.py --database-url postgres://…/helpdesk_bench

The script signs in as the seeded ``bench-tech`` (technician pages) and ``bench-super``
(supervisor pages) by creating one session per client and role (password and TOTP steps
passed), starts gunicorn (sync workers, one per core), then for each page warms up and drives
it at a fixed concurrency for a fixed time (the pages take turns over several rounds),
recording every request's latency. Pages (``_pages``): the baseline page; as the technician
the queue, ticket search, the ticket page and its MFA picture (the htmx request a browser
makes after the page); as the supervisor the approvals queue, the dashboard over 30 days, the
whole range, one day and one team, and the audit review unfiltered and filtered by end user,
technician, action, one day and one ticket. ``--only WORD …`` keeps the baseline and the pages
whose names contain a word. It prints requests/s, p50 and p99 per page and each page's ratio
to the baseline as a Markdown table ready to paste (JSON with --json).

The client runs on the same machine: its own CPU use is part of every measurement alike,
which is why the ratios, not the absolute numbers, are the result.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(database_url: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secret,
        DJANGO_DEBUG="0",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STATIC_MANIFEST="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        STAFF_MFA_REQUIRED="true",
    )
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return env


def _sessions(username: str, clients: int) -> list[str]:
    """Session keys for `username`, signed in with the password and TOTP steps passed."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY

    from helpdesk.models import Staff

    staff = Staff.objects.get(username=username)
    device = staff.totpdevice_set.get(confirmed=True)
    cookies = []
    for _ in range(clients):
        session = SessionStore()
        session[SESSION_KEY] = str(staff.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        cookies.append(session.session_key)
    return cookies


def _prepare(clients: int, sample: int) -> dict:
    """Sessions per role, a random sample of ticket ids and end users, the data's dates."""
    import django

    django.setup()
    from django.db.models import Max, Min

    from helpdesk.models import AdministrativeUnit, Staff, Ticket

    bounds = Ticket.objects.aggregate(
        low=Min("id"), high=Max("id"), first=Min("opened_at"), last=Max("opened_at")
    )
    rng = random.Random(7)  # noqa: S311 - a repeatable sample, not a secret
    ids = [rng.randint(bounds["low"], bounds["high"]) for _ in range(sample)]
    end_users = list(
        Ticket.objects.filter(pk__in=ids[:50]).values_list("end_user__username", flat=True)
    )
    return {
        "tech": _sessions("bench-tech", clients),
        "super": _sessions("bench-super", clients),
        "tech_id": Staff.objects.get(username="bench-tech").pk,
        "unit": AdministrativeUnit.objects.get(name="Bench unit").pk,
        "ids": ids,
        "end_users": end_users,
        "first_day": bounds["first"].date(),
        "last_day": bounds["last"].date(),
        "tickets": Ticket.objects.count(),
    }


def _pages(world: dict) -> dict[str, tuple[str, list[str], dict[str, str] | None]]:
    """Every page measured: (the role signed in, the paths taken in turn, extra headers)."""
    from datetime import timedelta

    ids, last, first = world["ids"], world["last_day"], world["first_day"]
    # The dashboard's default range is the last 30 days before today; the seeded tickets are
    # dated from 1 January 2026, so "default" here is the 30 days ending at the newest ticket.
    month = f"date_from={last - timedelta(days=29)}&date_to={last}"
    middle = first + (last - first) / 2
    day = f"date_from={middle}&date_to={middle}"
    htmx = {"HX-Request": "true", "HX-Target": "mfa-picture"}
    return {
        "baseline": ("tech", [f"/bench/baseline/?id={pk}" for pk in ids], None),
        "queue": ("tech", ["/tickets/?queue=open"], None),
        "ticket search": ("tech", [f"/tickets/?q={w}" for w in SEARCH_WORDS], None),
        "ticket": ("tech", [f"/tickets/{pk}/" for pk in ids], None),
        "ticket MFA picture": ("tech", [f"/tickets/{pk}/mfa/" for pk in ids], htmx),
        "approvals queue": ("super", ["/directory/approvals/"], None),
        "dashboard, 30 days": ("super", [f"/dashboard/?{month}"], None),
        "dashboard, whole range": ("super", ["/dashboard/?date_from=&date_to="], None),
        "dashboard, one day": ("super", [f"/dashboard/?{day}"], None),
        "dashboard, one team": ("super", [f"/dashboard/?{month}&unit={world['unit']}"], None),
        "audit review": ("super", ["/audit/"], None),
        "audit review, one end user": (
            "super",
            [f"/audit/?end_user={u}" for u in world["end_users"]],
            None,
        ),
        "audit review, technician": ("super", [f"/audit/?actor={world['tech_id']}"], None),
        "audit review, action": ("super", ["/audit/?kind=ticket.resolved"], None),
        "audit review, one day": ("super", [f"/audit/?{day}"], None),
        "audit review, one ticket": ("super", [f"/audit/?ticket={pk}" for pk in ids], None),
    }


# Words of the seeded subjects, each matching about one ticket in eight.
SEARCH_WORDS = ["prompt", "travel", "token", "enrolling"]


def _wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def _drive(port, paths, cookies, seconds, headers=None) -> tuple[list[float], int]:
    """Every client loops over `paths` for `seconds`; returns latencies and errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    extra = headers or {}

    def client(cookie: str, offset: int) -> None:
        mine: list[float] = []
        bad = 0
        i = offset
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            began = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}", **extra})
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [
        threading.Thread(target=client, args=(cookie, n * 7)) for n, cookie in enumerate(cookies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\nThe script")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="per page per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only", nargs="*", default=[], help="measure only pages whose name has one of these"
    )
    args = parser.parse_args()

    load_before = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    secret = secrets.token_urlsafe(40)
    os.environ.update(_env(args.database_url, secret))
    sys.path.insert(0, str(ROOT))
    world = _prepare(args.concurrency, 200)
    ticket_count = world["tickets"]
    pages = _pages(world)
    if args.only:
        wanted = ("baseline", *args.only)
        pages = {name: page for name, page in pages.items() if any(w in name for w in wanted)}
    server = subprocess.Popen(  # noqa: S603 - our own virtualenv's gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=_env(args.database_url, secret),
    )
    results = {}
    try:
        _wait_until_up(args.port, time.monotonic() + 30)
        for role, paths, headers in pages.values():
            _drive(args.port, paths, world[role], args.warmup, headers)
        # Pages take turns, round after round, so a change in background load on the machine
        # touches every page alike instead of skewing whichever ran at the time.
        collected: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(args.rounds):
            for name, (role, paths, headers) in pages.items():
                latencies, errors = _drive(args.port, paths, world[role], args.seconds, headers)
                if errors:
                    raise SystemExit(f"{name}: {errors} responses were not 200")
                collected[name].extend(latencies)
        for name, latencies in collected.items():
            quantiles = statistics.quantiles(latencies, n=100)
            results[name] = {
                "requests": len(latencies),
                "rps": len(latencies) / (args.seconds * args.rounds),
                "p50_ms": quantiles[49] * 1000,
                "p99_ms": quantiles[98] * 1000,
            }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    base = results["baseline"]["rps"]
    for result in results.values():
        result["ratio"] = result["rps"] / base
    if args.json:
        print(json.dumps({"tickets": ticket_count, "pages": results}, indent=2))
        return
    print(
        f"{ticket_count:,} tickets; concurrency {args.concurrency}, "
        f"{args.workers} gunicorn workers, {args.rounds} rounds of {args.seconds:g} s per page; "
        f"load average before the run {load_before}"
    )
    print("| page | req/s | p50 ms | p99 ms | ratio to baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['ratio'] * 100:.0f} % |"
        )


if __name__ == "__main__":
    main()
