"""The whole scenario corpus (authsim/scenarios/) worked through simulate_case, one test per
file: the expected root cause named, the expected outcome, a verified sign-in wherever
access is restored, no bypass code where a fix restores the caller's own method, and an
audit chain that verifies. The per-root-cause summary is printed at the end of the run
(conftest.py) and is what `manage.py corpus_report` writes to docs/corpus.md."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from authsim.scenarios import bundled_scenarios, read_scenario
from enrollment.vocab import ROOT_CAUSES
from troubleshooting.management.commands.corpus_report import judge, path_taken
from troubleshooting.vocab import RESOLVED_OUTCOMES

# Services commit and send after commit: run for real, as the command does. Each case starts
# from an empty database; the teardown empties only the tables the case wrote (conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reset_used_tables]

PATHS = {path.stem: path for path in bundled_scenarios()}


def test_corpus_covers_every_root_cause_three_times_and_holds_150_cases():
    counts = dict.fromkeys(ROOT_CAUSES, 0)
    for path in PATHS.values():
        counts[read_scenario(path).expected.root_cause] += 1

    assert [cause for cause, n in counts.items() if n < 3] == []
    assert len(PATHS) >= 150


@pytest.mark.parametrize("name", sorted(PATHS))
def test_scenario_is_worked_to_its_expected_end(name, corpus_results):
    path = PATHS[name]
    expected = read_scenario(path).expected
    out = StringIO()

    call_command("simulate_case", str(path), "--json", stdout=out)
    report = json.loads(out.getvalue())

    problems = judge(expected, report)
    corpus_results.append(
        {"root_cause": expected.root_cause, "correct": not problems, "steps": len(report["steps"])}
    )
    taken = path_taken(report)
    assert expected.root_cause in report["root_causes"], taken
    assert report["outcome"] == expected.outcome, taken
    if report["outcome"] in RESOLVED_OUTCOMES:
        assert report["verified_sign_in"] is True, taken
    if expected.outcome != "bypass_issued":
        assert report["bypass_issued"] is False, taken
    assert report["audit_chain_ok"] is True
    assert problems == []
