"""python manage.py generate_scenarios --seed S --count N [--faults 1|2] --out DIR

Writes N generated scenario files (authsim.generator) to DIR, one YAML file per world, each
with the oracle's `expected` block. The same seed writes the same files."""

from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from authsim.generator import generate


def write_worlds(*, seed: int, count: int, faults: int, out: Path) -> list[Path]:
    """Generates and writes the worlds; returns their paths in order."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc in generate(seed=seed, count=count, faults=faults):
        path = out / f"{doc['id']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        paths.append(path)
    return paths


class Command(BaseCommand):
    help = (
        "Writes random scenario worlds with one or two faults, each with the oracle's "
        "expected root causes and outcomes (docs/scenarios.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, required=True, help="the random seed")
        parser.add_argument("--count", type=int, required=True, help="how many worlds")
        parser.add_argument(
            "--faults", type=int, choices=(1, 2), default=1, help="faults per world (1 or 2)"
        )
        parser.add_argument("--out", required=True, help="folder to write the files to")

    def handle(self, *args, seed: int, count: int, faults: int, out: str, **options):
        if count < 1:
            raise CommandError(f"--count: expected a whole number >= 1, got {count}")
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"--out: {folder} exists and is not a folder")
        paths = write_worlds(seed=seed, count=count, faults=faults, out=folder)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(paths)} scenario files to {folder}")
            + f" (seed {seed}, {faults} fault{'s' if faults == 2 else ''} each)."
        )
