"""Recomputes the supervisor dashboard's aggregates from the tickets, events and sessions.

    python manage.py rebuild_dashboard

Needed once after upgrading to the aggregates and after rows were written outside the
services (a bulk import); the services keep the aggregates current otherwise. Changes made
while it runs wait for it and then apply on top.
"""

import time

from django.core.management.base import BaseCommand

from helpdesk.services.dashboard import dashboard_rebuild


class Command(BaseCommand):
    help = "Recompute the dashboard's aggregates from the tickets and their events."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000, help="tickets read at a time")

    def handle(self, *args, **options) -> None:
        began = time.monotonic()

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"{done}/{total} tickets", ending="\r")
            self.stdout.flush()

        tickets = dashboard_rebuild(batch=max(1, options["batch"]), progress=progress)
        self.stdout.write(
            f"\nDashboard aggregates rebuilt from {tickets} tickets "
            f"in {time.monotonic() - began:.1f} s."
        )
