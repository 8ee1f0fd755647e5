"""Measure the audit CSV export: rows per second and the process's peak memory, streaming a
filtered trail of about `--events` events through the real view (test client, signed in as
the seeded supervisor ``bench-super``).

    .venv/bin/python bench/export.py --database-url postgres://…/helpdesk_bench --events 1000000

The date range is widened day by day from the oldest event until it holds at least
`--events` events, so the export reads what a supervisor asking for "those days" would get.
Peak memory is the process's maximum resident set size (getrusage), read before the first row
and after the last, so the growth is what streaming the export cost.
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=args.database_url,
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench-export-not-secret"),
        DJANGO_DEBUG="0",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STATIC_MANIFEST="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        STAFF_MFA_REQUIRED="true",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Min
    from django.test import Client

    from bench.run import _sessions
    from helpdesk.models import TicketEvent

    first = TicketEvent.objects.aggregate(first=Min("occurred_at"))["first"].date()
    last = first
    while TicketEvent.objects.filter(
        occurred_at__date__lte=last
    ).count() < args.events and last < first + timedelta(days=3650):
        last += timedelta(days=1)
    client = Client()
    client.cookies["sessionid"] = _sessions("bench-super", 1)[0]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    response = client.get("/audit/export.csv", {"date_from": first, "date_to": last})
    rows, size = -1, 0  # the header line is not a row
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{rows:,} events ({first} to {last}, {size / 1e6:.0f} MB of CSV) in {seconds:.1f} s: "
        f"{rows / seconds:,.0f} rows/s; peak memory {before / 1024:.0f} MB before the first "
        f"row, {after / 1024:.0f} MB after the last (+{(after - before) / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()
