import getpass
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from helpdesk.models import Staff
from helpdesk.roles import Role


class Command(BaseCommand):
    help = (
        "Create a staff account from the command line, e.g. the first owner of a new "
        "installation. The password is read from the terminal, or from standard input with "
        "--password-stdin. The staff member enrolls a TOTP device at first sign-in."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true")

    def handle(self, *args, username: str, role: str, email: str, password_stdin: bool, **options):
        if Staff.objects.filter(username=username).exists():
            raise CommandError(f"A staff account named {username!r} already exists.")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        staff = Staff(username=username, email=email, role=role)
        try:
            validate_password(password, staff)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from None
        staff.set_password(password)
        staff.save()
        self.stdout.write(self.style.SUCCESS(f"Created {Role(role).label} {username!r}."))
