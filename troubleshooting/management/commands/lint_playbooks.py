"""python manage.py lint_playbooks [PATH ...]: lint playbook files (the shipped ones by
default); exits non-zero when anything is wrong, printing one line per finding."""

from django.core.management.base import BaseCommand, CommandError

from troubleshooting.lint import lint_paths, playbook_files


class Command(BaseCommand):
    help = "Lint playbook files: schema, graph, conditions and the path rules."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="files or directories (default: shipped)")

    def handle(self, *args, **options):
        paths = options["paths"] or None
        files = playbook_files(paths)
        missing = [str(path) for path in files if not path.exists()]
        if missing:
            raise CommandError(f"no such file: {', '.join(missing)}")
        report = lint_paths(files)
        for finding in report.findings:
            self.stderr.write(str(finding))
        if not report.ok:
            raise CommandError(
                f"{len(report.findings)} problem(s) in {len(files)} playbook file(s)"
            )
        self.stdout.write(f"{len(files)} playbook file(s) lint clean.")
