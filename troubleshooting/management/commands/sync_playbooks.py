"""python manage.py sync_playbooks [PATH ...]: publish every changed playbook file (the shipped
ones by default) as a new version. Idempotent; exits non-zero when a file does not lint."""

from django.core.management.base import BaseCommand, CommandError

from troubleshooting.services import playbook_sync_from_files


class Command(BaseCommand):
    help = "Publish changed playbook files as new immutable versions."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="files or directories (default: shipped)")

    def handle(self, *args, **options):
        results = playbook_sync_from_files(options["paths"] or None)
        invalid = 0
        for result in results:
            self.stdout.write(str(result))
            for problem in result.problems:
                self.stderr.write(problem)
            invalid += result.status == "invalid"
        if invalid:
            raise CommandError(f"{invalid} playbook file(s) not published")
