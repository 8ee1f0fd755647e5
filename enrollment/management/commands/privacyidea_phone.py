"""manage.py privacyidea_phone USER: the code a seed_privacyidea end user's phone shows now."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrollment.privacyidea import demo


class Command(BaseCommand):
    help = (
        "Shows the code the demo end user's authenticator app shows now, by that phone's own "
        "clock (pi.drift's runs five minutes late). For trying cases in the browser: you play "
        "the end user and read the code out to the technician."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--seeds-file", default=".privacyidea-demo-phones.json")

    def handle(self, *args, **options) -> None:
        try:
            code, seconds = demo.phone_code(Path(options["seeds_file"]), options["username"])
        except (demo.DemoError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{code}  (changes in {seconds} s)")
