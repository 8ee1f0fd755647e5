"""Works scenarios through simulate_case and reports how often the session is right.

    python manage.py corpus_report [--dir authsim/scenarios] [--output docs/corpus.md]
    python manage.py corpus_report --generate N --seed S [--faults 1|2] [--output FILE]

Folder mode (the hand-written corpus): per root cause, how many cases there are, how many
the playbooks get right and the median number of steps. A case is right when the session
names the expected root cause, ends with the expected outcome, has a verified sign-in
whenever the outcome restores access, issues no bypass code unless a bypass is the
expected outcome, and leaves a verifying audit chain (`judge`; the same judgement is what
tests/troubleshooting/test_corpus.py asserts).

Generated mode: N worlds from authsim.generator (seed S, one or two faults each, or both
when --faults is left out), judged against the oracle's `expected` block (`judge_world`): a
world is right when every root cause the oracle finds is named, the outcome is one the
oracle accepts, and the sign-in is verified wherever access is restored. Per root cause and
per fault count it prints cases, right, median steps, bypass codes issued where the oracle
says the user's own method was fixable, recovery actions without an identity verification
(read from the ticket's trail) and sessions that named no cause (`no_fault_found` counts as
naming one), then the commonest ways the wrong ones went wrong.

Both modes work every case in one database with the same simulated technician, while each
file stands for a separate call: the per-technician limit on recovery actions (30 an hour by
default, counted on the simulated clock, which every load puts back to real time) would
refuse every recovery action after the first few dozen cases and measure the limit instead of
the diagnosis. The report therefore lifts that one limit while it runs (`CASE_SETTINGS`);
the per-end-user limit and every other guard stay as they are.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from authsim.scenarios import SCENARIO_DIR, Scenario, read_scenario
from enrollment.services.guards import ACTIONS
from helpdesk.enums import EventKind
from helpdesk.models import Ticket
from troubleshooting.vocab import RESOLVED_OUTCOMES

NO_FAULT_FOUND = "no_fault_found"
# Settings for working many separate calls in one run (module docstring).
CASE_SETTINGS = {"RECOVERY_RATE_LIMIT_PER_TECHNICIAN": 10**9}


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


@dataclass
class WorldJudgement:
    """One generated world's session against the oracle (`judge_world`)."""

    problems: list[str] = field(default_factory=list)
    # A bypass code where the oracle says the user's own method could be fixed.
    needless_bypass: bool = False
    # Sensitive recovery actions done with no verified identity (or approval) before them.
    unverified_recoveries: int = 0
    # A bypass for a user already in `bypass` status, with no reason on the trail.
    bypass_again_without_reason: bool = False
    named_no_cause: bool = False

    @property
    def right(self) -> bool:
        return not self.problems


def judge_world(scenario: Scenario, report: dict) -> WorldJudgement:
    """Judges one simulate_case `report` of a generated world against the oracle's
    expectation in `scenario.expected` (root_causes, outcomes, own_method_fixable), and
    reads the ticket's trail for the recovery actions taken."""
    expected = scenario.expected
    causes = list(expected.root_causes or [expected.root_cause])
    accepted = set(expected.outcomes or [expected.outcome])
    named = report["root_causes"]
    judgement = WorldJudgement(named_no_cause=not named)
    missing = [cause for cause in causes if cause not in named]
    if missing:
        judgement.problems.append(f"did not name {', '.join(missing)} (named {named or 'none'})")
    if report["outcome"] not in accepted:
        judgement.problems.append(
            f"outcome {report['outcome']}, expected one of {', '.join(sorted(accepted))}"
        )
    if report["outcome"] in RESOLVED_OUTCOMES and not report["verified_sign_in"]:
        judgement.problems.append("access restored without a verified sign-in")
    fixable = expected.own_method_fixable
    if fixable is None:
        fixable = "bypass_issued" not in accepted
    if report["bypass_issued"] and fixable:
        judgement.needless_bypass = True
        judgement.problems.append("a bypass code where the user's own method was fixable")
    if not report["audit_chain_ok"]:
        judgement.problems.append("the audit chain does not verify")
    trail = _trail(report["ticket"])
    judgement.unverified_recoveries = trail.unverified
    if judgement.unverified_recoveries:
        judgement.problems.append("a recovery action without an identity verification")
    if scenario.user.status == "bypass" and trail.bypass_without_reason:
        judgement.bypass_again_without_reason = True
        judgement.problems.append("another bypass code for a user in bypass status, no reason")
    return judgement


@dataclass
class _Trail:
    unverified: int = 0
    bypass_without_reason: bool = False


def _trail(ticket_id: int) -> _Trail:
    """What the ticket's own trail says about its recovery actions."""
    trail = _Trail()
    verified = False
    events = (
        Ticket.objects.get(pk=ticket_id)
        .events.filter(kind__in=[EventKind.IDENTITY_VERIFIED, EventKind.RECOVERY_ACTION])
        .order_by("seq")
        .values_list("kind", "payload")
    )
    for kind, payload in events:
        if kind == EventKind.IDENTITY_VERIFIED:
            verified = verified or payload.get("result") == "verified"
            continue
        outcome, action = payload.get("outcome"), payload.get("action", "")
        if outcome == "approved":
            verified = True
        if outcome != "done":
            continue
        spec = ACTIONS.get(action)
        if spec is not None and spec.needs_identity and not verified:
            trail.unverified += 1
        if action == "bypass_code_issue" and not (payload.get("reason") or "").strip():
            trail.bypass_without_reason = True
    return trail


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


def _median(rows: list[dict]) -> str:
    return f"{statistics.median(r['steps'] for r in rows):g}" if rows else "-"


def generated_table(rows: list[dict]) -> str:
    """Markdown: per root cause and per fault count, then per fault count and in all.
    `rows` holds {causes, faults, right, steps, needless_bypass, unverified, no_cause} per
    world; a two-fault world counts under each of its causes."""
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in rows:
        for cause in row["causes"]:
            groups[(cause, row["faults"])].append(row)
    lines = [
        "| Root cause | Faults | Cases | Right | Median steps | Needless bypass "
        "| Recovery without identity | No cause named |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def line(label: str, faults: str, cases: list[dict]) -> str:
        return (
            f"| {label} | {faults} | {len(cases)} | {sum(r['right'] for r in cases)} | "
            f"{_median(cases)} | {sum(r['needless_bypass'] for r in cases)} | "
            f"{sum(r['unverified'] for r in cases)} | {sum(r['no_cause'] for r in cases)} |"
        )

    for cause, faults in sorted(groups):
        lines.append(line(cause, str(faults), groups[(cause, faults)]))
    for faults in sorted({r["faults"] for r in rows}):
        cases = [r for r in rows if r["faults"] == faults]
        lines.append(line(f"**all, {faults} fault{'s' if faults > 1 else ''}**", "", cases))
    if rows:
        lines.append(line("**all**", "", rows))
    return "\n".join(lines)


def failure_patterns(rows: list[dict], top: int = 10) -> list[str]:
    """The commonest ways wrong worlds went wrong: expected causes, complaint and the first
    problem, with how often and one example world."""
    counts: Counter = Counter()
    example: dict[tuple, str] = {}
    for row in rows:
        if row["right"]:
            continue
        key = (" + ".join(row["causes"]), row["complaint"], row["problems"][0])
        counts[key] += 1
        example.setdefault(key, f"{row['id']}: {row['path']}")
    return [
        f"- {n}x {causes} / complaint {complaint}: {problem}\n  e.g. {example[key]}"
        for key, n in counts.most_common(top)
        for causes, complaint, problem in [key]
    ]


class Command(BaseCommand):
    help = (
        "Run every scenario in a folder, or N generated worlds, and summarise the results "
        "per root cause."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(SCENARIO_DIR), help="folder of scenario files")
        parser.add_argument("--output", help="also write the Markdown table to this file")
        parser.add_argument("--generate", type=int, metavar="N", help="work N generated worlds")
        parser.add_argument("--seed", type=int, help="the generator's seed (with --generate)")
        parser.add_argument(
            "--faults",
            type=int,
            choices=(1, 2),
            help="faults per generated world; left out, half the worlds get one, half two",
        )
        parser.add_argument(
            "--keep", help="with --generate: write the world files to this folder and keep them"
        )

    def handle(self, *args, **options):
        if options["generate"] is None and (
            options["seed"] is not None or options["faults"] is not None
        ):
            raise CommandError("--seed and --faults go with --generate N")
        with override_settings(**CASE_SETTINGS):
            if options["generate"] is not None:
                self._generated(options)
            else:
                self._folder(options)

    def _generated(self, options) -> None:
        from authsim.management.commands.generate_scenarios import write_worlds
        from troubleshooting.management.commands.simulate_case import simulate_file

        count, seed = options["generate"], options["seed"]
        if count < 1:
            raise CommandError(f"--generate: expected a whole number >= 1, got {count}")
        if seed is None:
            raise CommandError("--generate needs --seed S (a whole number)")
        split = [options["faults"]] if options["faults"] else [1, 2]
        counts = [count // len(split) + (1 if i < count % len(split) else 0) for i in range(2)]
        with tempfile.TemporaryDirectory(prefix="worlds-") as scratch:
            folder = Path(options["keep"] or scratch)
            paths: list[tuple[int, Path]] = []
            for faults, n in zip(split, counts, strict=False):
                if n:
                    out = folder / f"{faults}-fault"
                    paths += [
                        (faults, p)
                        for p in write_worlds(seed=seed, count=n, faults=faults, out=out)
                    ]
            rows, seconds = [], []
            for faults, path in paths:
                scenario = read_scenario(path)
                started = time.perf_counter()
                report = simulate_file(path)
                seconds.append(time.perf_counter() - started)
                judgement = judge_world(scenario, report)
                rows.append(
                    {
                        "id": scenario.id,
                        "causes": list(scenario.expected.root_causes or []),
                        "faults": faults,
                        "complaint": scenario.complaint,
                        "right": judgement.right,
                        "steps": len(report["steps"]),
                        "needless_bypass": judgement.needless_bypass,
                        "unverified": judgement.unverified_recoveries,
                        "no_cause": judgement.named_no_cause,
                        "problems": judgement.problems,
                        "path": f"named {report['root_causes']}, {report['outcome']}; "
                        + path_taken(report),
                    }
                )
        table = generated_table(rows)
        self.stdout.write(table)
        self.stdout.write(
            f"\n{len(rows)} generated worlds (seed {seed}), median "
            f"{statistics.median(seconds):.2f} s each, slowest {max(seconds):.2f} s"
        )
        patterns = failure_patterns(rows)
        if patterns:
            self.stdout.write("\nCommonest failure patterns:\n" + "\n".join(patterns))
        if options["output"]:
            Path(options["output"]).write_text(table + "\n")

    def _folder(self, options) -> None:
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
