from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from authsim.demo import seed_world
from helpdesk.demo import DEMO_PASSWORD, seed_history, seed_staff
from helpdesk.roles import Role


class Command(BaseCommand):
    help = (
        "Build the demo world: end users with a realistic spread of MFA faults (through the "
        "simulator), staff of every role (logins printed) and administrative units. "
        "Idempotent and deterministic."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=300, help="end users to create")
        parser.add_argument("--seed", type=int, default=7, help="random seed for the world")

    def handle(self, *args, users: int, seed: int, **options) -> None:
        if users < 1:
            self.stderr.write("--users must be at least 1")
            raise SystemExit(2)
        # One transaction: all or nothing, and one disk sync instead of thousands on SQLite.
        with transaction.atomic():
            end_users = seed_world(stdout=self.stdout, users=users, seed=seed)
            people = seed_staff()
        # Guided sessions pin a published playbook version; publish the shipped ones.
        call_command("sync_playbooks", stdout=self.stdout)
        # A week of worked cases for the supervisor dashboard (once; kept on reseeding).
        cases = seed_history()
        if cases:
            self.stdout.write(f"Demo cases: {cases} tickets with guided sessions.")
        self.stdout.write(self.style.SUCCESS(f"Demo world ready: {len(end_users)} end users."))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for person in people:
            unit = f", unit {person.unit}" if person.unit else ""
            self.stdout.write(f"  {person.username:<12} {Role(person.role).label}{unit}")
        if not settings.STAFF_MFA_REQUIRED:
            self.stdout.write("Staff MFA is off for this demo run: no TOTP code is asked.")
