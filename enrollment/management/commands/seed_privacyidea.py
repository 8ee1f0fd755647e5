"""manage.py seed_privacyidea: a few broken end users in a local privacyIDEA, then the sync."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrollment.mfa import MFAServiceError
from enrollment.privacyidea import demo
from enrollment.services.directory_sync import directory_sync


class Command(BaseCommand):
    help = (
        "Fills a local privacyIDEA with a realm, the helpdesk's policies and a few broken end "
        "users (locked out, clock running late, disabled authenticator, lost phone, never "
        "enrolled), then imports them into the directory. Run it with MFA_SERVICE and the "
        "PRIVACYIDEA_* settings pointing at that server (docs/privacyidea.md)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=os.environ.get("PRIVACYIDEA_URL", ""))
        parser.add_argument("--admin", default="pi-admin", help="privacyIDEA setup admin")
        parser.add_argument(
            "--admin-password",
            default=os.environ.get("PI_ADMIN_PASSWORD", ""),
            help="the setup admin's password (or PI_ADMIN_PASSWORD)",
        )
        parser.add_argument("--realm", default="corp")
        parser.add_argument("--service-account", default="helpdesk-svc")
        parser.add_argument(
            "--users-file",
            default="privacyidea-demo-users.passwd",
            help="where to write the demo users (a passwd file privacyIDEA reads)",
        )
        parser.add_argument(
            "--server-users-file",
            default="",
            help="the same file's path as the privacyIDEA server sees it (default: --users-file)",
        )
        parser.add_argument(
            "--seeds-file",
            default=".privacyidea-demo-phones.json",
            help="the demo end users' authenticator apps, for privacyidea_phone",
        )
        parser.add_argument("--no-verify-tls", action="store_true")

    def handle(self, *args, **options) -> None:
        if not options["url"] or not options["admin_password"]:
            raise CommandError("Give --url (or PRIVACYIDEA_URL) and --admin-password.")
        users_file = Path(options["users_file"]).resolve()
        try:
            admin = demo.SetupAdmin(
                options["url"],
                options["admin"],
                options["admin_password"],
                verify=not options["no_verify_tls"],
            )
            lines = demo.seed(
                admin=admin,
                realm=options["realm"],
                service_account=options["service_account"],
                users_file=users_file,
                server_users_file=options["server_users_file"] or str(users_file),
                seeds_file=Path(options["seeds_file"]),
            )
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        for line in lines:
            self.stdout.write(line)
        try:
            report = directory_sync()
        except MFAServiceError as exc:
            raise CommandError(
                f"privacyIDEA is seeded, but the directory sync failed: {exc} Check MFA_SERVICE "
                "and the PRIVACYIDEA_* settings, then run sync_directory."
            ) from exc
        self.stdout.write(report.summary())
        self.stdout.write(
            f"Play the end users' phones with: manage.py privacyidea_phone USER "
            f"(--seeds-file {options['seeds_file']})."
        )
