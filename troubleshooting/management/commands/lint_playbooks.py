"""python manage.py lint_playbooks [PATH ...]: lint playbook files (the shipped ones by
default) and, without paths, the root-cause catalog; exits non-zero when anything is wrong,
printing one line per finding."""

from django.core.management.base import BaseCommand, CommandError

from troubleshooting.catalog import CATALOG_FILE, CatalogError, lint_catalog, load_catalog
from troubleshooting.catalog.compile import compile_diagnosis
from troubleshooting.lint import lint_definition, lint_paths, playbook_files
from troubleshooting.schema import PlaybookFileError


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
        catalog_problems = [] if paths else self._catalog_problems()
        for problem in catalog_problems:
            self.stderr.write(f"{CATALOG_FILE.name}: {problem}")
        if not report.ok or catalog_problems:
            raise CommandError(
                f"{len(report.findings)} problem(s) in {len(files)} playbook file(s)"
                + ("" if paths else f", {len(catalog_problems)} in the root-cause catalog")
            )
        self.stdout.write(
            f"{len(files)} playbook file(s) lint clean."
            + ("" if paths else " The root-cause catalog lints clean.")
        )

    def _catalog_problems(self) -> list[str]:
        try:
            catalog = load_catalog()
        except (CatalogError, PlaybookFileError) as exc:
            return [str(exc)]
        # The diagnosis compiled from it is proved like any playbook.
        compiled = lint_definition(compile_diagnosis(catalog), file=CATALOG_FILE.name)
        return lint_catalog(catalog) + [str(finding) for finding in compiled]
