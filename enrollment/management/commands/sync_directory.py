"""manage.py sync_directory: import the MFA service's users and tokens into the directory."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from enrollment.mfa import MFAServiceError, NotSupported
from enrollment.services.directory_sync import directory_sync


class Command(BaseCommand):
    help = (
        "Imports the users of the MFA service's realms and their tokens as end users and "
        "authenticators (privacyIDEA), keyed by the service's own identifiers, and reports "
        "what changed. Safe to run again: nothing changed on the service, nothing changes here."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--verbose-changes", action="store_true", help="list every change, one per line"
        )

    def handle(self, *args, **options) -> None:
        try:
            report = directory_sync()
        except NotSupported as exc:
            raise CommandError(
                f"{exc} The simulator's directory is the helpdesk's own; set MFA_SERVICE to a "
                "service that owns one (enrollment.privacyidea.PrivacyIDEAService)."
            ) from exc
        except MFAServiceError as exc:
            raise CommandError(f"Nothing was changed: {exc}") from exc
        if options["verbose_changes"]:
            for change in report.changes:
                self.stdout.write(change)
        self.stdout.write(report.summary())
