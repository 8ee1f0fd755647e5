from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from helpdesk.models import Staff
from helpdesk.roles import Role
from helpdesk.services.staff_setup import setup_link_issue, setup_link_token_make, setup_link_url


class Command(BaseCommand):
    help = (
        "Create a staff account from the command line, e.g. the first owner of a new "
        "installation. Like accounts made on the staff pages it has no password yet: its "
        "owner chooses one and enrolls their authenticator app through a one-time set-up "
        "link, emailed to --email (or, with --print-link, printed here for the person at "
        "this terminal, when no mail server is set up yet)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--print-link",
            action="store_true",
            help="Print the set-up link instead of emailing it (only for yourself).",
        )

    def handle(self, *args, username: str, role: str, email: str, print_link: bool, **options):
        if Staff.objects.filter(username__iexact=username).exists():
            raise CommandError(f"A staff account named {username!r} already exists.")
        if not print_link:
            if not email:
                raise CommandError("Give --email (the set-up link goes there) or --print-link.")
            try:
                validate_email(email)
            except Exception:
                raise CommandError(f"--email {email!r}: expected an email address.") from None
        with transaction.atomic():
            staff = Staff(username=username, email=email, role=role)
            staff.set_unusable_password()
            staff.save()
            link = setup_link_issue(staff=staff, created_by=None)
        self.stdout.write(self.style.SUCCESS(f"Created {Role(role).label} {username!r}."))
        if print_link:
            token = setup_link_token_make(link)
            self.stdout.write(f"Set-up link (works once): {setup_link_url(token)}")
        else:
            self.stdout.write(f"A one-time set-up link was sent to {email}.")
