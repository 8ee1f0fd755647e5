"""Works every scenario of a folder through simulate_case and reports, per root cause, how
many cases there are, how many the playbooks get right and the median number of steps.

    python manage.py corpus_report [--dir authsim/scenarios] [--output docs/corpus.md]

A case is right when the session names the expected root cause, ends with the expected
outcome, has a verified sign-in whenever the outcome restores access, issues no bypass code
unless a bypass is the expected outcome, and leaves a verifying audit chain. The same
judgement is what tests/troubleshooting/test_corpus.py asserts.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from authsim.scenarios import SCENARIO_DIR, read_scenario
from troubleshooting.vocab import RESOLVED_OUTCOMES


def judge(expected, report: dict) -> list[str]:
    """What is wrong with one simulate_case report against the scenario's expectation
    (empty when the case is right)."""
    problems = []
    if expected.root_cause not in report["root_causes"]:
        problems.append(f"root cause {expected.root_cause} not named ({report['root_causes']})")
    if report["outcome"] != expected.outcome:
        problems.append(f"outcome {report['outcome']}, expected {expected.outcome}")
    if report["outcome"] in RESOLVED_OUTCOMES and not report["verified_sign_in"]:
        problems.append("access restored without a verified sign-in")
    if expected.outcome != "bypass_issued" and report["bypass_issued"]:
        problems.append("a bypass code was issued where a fix restores the caller's method")
    if not report["audit_chain_ok"]:
        problems.append("the audit chain does not verify")
    return problems


def path_taken(report: dict) -> str:
    return " -> ".join(f"{s['node']}[{s['result']}]" for s in report["steps"])


def summary_table(rows: list[dict]) -> str:
    """Markdown: one line per root cause (cases, correct, median steps) and a total.
    `rows` holds {root_cause, correct, steps} per case."""
    by_cause: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_cause[row["root_cause"]].append(row)
    lines = [
        "| Root cause | Cases | Correct | Median steps |",
        "|---|---:|---:|---:|",
    ]
    for cause in sorted(by_cause):
        cases = by_cause[cause]
        lines.append(
            f"| {cause} | {len(cases)} | {sum(r['correct'] for r in cases)} | "
            f"{statistics.median(r['steps'] for r in cases):g} |"
        )
    if rows:
        lines.append(
            f"| **all** | {len(rows)} | {sum(r['correct'] for r in rows)} | "
            f"{statistics.median(r['steps'] for r in rows):g} |"
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Run every scenario in a folder and summarise the results per root cause."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(SCENARIO_DIR), help="folder of scenario files")
        parser.add_argument("--output", help="also write the Markdown table to this file")

    def handle(self, *args, **options):
        from troubleshooting.management.commands.simulate_case import simulate_file

        folder = Path(options["dir"])
        paths = sorted(folder.glob("*.yaml"))
        if not paths:
            raise CommandError(f"{folder}: no scenario files (*.yaml) found")
        rows, failures, seconds = [], [], []
        for path in paths:
            expected = read_scenario(path).expected
            if expected is None:
                raise CommandError(f"{path}: key 'expected' is missing (root_cause, outcome)")
            started = time.perf_counter()
            report = simulate_file(path)
            seconds.append(time.perf_counter() - started)
            problems = judge(expected, report)
            rows.append(
                {
                    "root_cause": expected.root_cause,
                    "correct": not problems,
                    "steps": len(report["steps"]),
                }
            )
            if problems:
                failures.append(f"- `{path.stem}`: {'; '.join(problems)} — {path_taken(report)}")
        table = summary_table(rows)
        self.stdout.write(table)
        self.stdout.write(
            f"\n{len(paths)} scenarios, median {statistics.median(seconds):.2f} s each, "
            f"slowest {max(seconds):.2f} s"
        )
        if failures:
            self.stdout.write("\nNot right yet:\n" + "\n".join(failures))
        if options["output"]:
            Path(options["output"]).write_text(table + "\n")
