from django.conf import settings
from django.core.management.base import BaseCommand

from helpdesk.demo import DEMO_PASSWORD, seed_staff
from helpdesk.roles import Role


class Command(BaseCommand):
    help = "Build the demo world: staff of every role (logins printed) and administrative units."

    def handle(self, *args, **options) -> None:
        people = seed_staff()
        self.stdout.write(self.style.SUCCESS("Demo world ready."))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for person in people:
            unit = f", unit {person.unit}" if person.unit else ""
            self.stdout.write(f"  {person.username:<12} {Role(person.role).label}{unit}")
        if not settings.STAFF_MFA_REQUIRED:
            self.stdout.write("Staff MFA is off for this demo run: no TOTP code is asked.")
