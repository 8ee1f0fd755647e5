"""corpus_report --generate: generated worlds judged against the oracle, a table per root
cause and fault count, and the commonest failure patterns."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from authsim.management.commands.generate_scenarios import write_worlds
from authsim.scenarios import read_scenario
from troubleshooting.management.commands.corpus_report import (
    generated_table,
    judge_world,
)
from troubleshooting.management.commands.simulate_case import simulate_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reset_used_tables]

HEADER = (
    "| Root cause | Faults | Cases | Right | Median steps | Needless bypass "
    "| Recovery without identity | No cause named |"
)


def test_generate_prints_a_line_per_cause_and_fault_count_and_the_totals(tmp_path):
    out = StringIO()

    call_command(
        "corpus_report", "--generate", "4", "--seed", "31", "--keep", str(tmp_path), stdout=out
    )

    text = out.getvalue()
    assert text.startswith(HEADER)
    assert "| **all, 1 fault** |  | 2 |" in text
    assert "| **all, 2 faults** |  | 2 |" in text
    assert "| **all** |  | 4 |" in text
    assert "4 generated worlds (seed 31)" in text
    assert len(list(tmp_path.glob("*-fault/*.yaml"))) == 4


def test_generate_with_one_fault_count_only(tmp_path):
    out = StringIO()
    call_command("corpus_report", "--generate", "2", "--seed", "5", "--faults", "2", stdout=out)
    assert "| **all, 2 faults** |  | 2 |" in out.getvalue()
    assert "1 fault**" not in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generate", "3"], "--generate needs --seed S"),
        (["--generate", "0", "--seed", "1"], "--generate: expected a whole number >= 1"),
        (["--seed", "1"], "--seed and --faults go with --generate N"),
    ],
)
def test_generate_refuses_incomplete_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("corpus_report", *args, stdout=StringIO())


def test_judge_world_reads_the_oracle_and_the_trail(tmp_path):
    (path,) = write_worlds(seed=8, count=1, faults=1, out=tmp_path)
    scenario = read_scenario(path)
    report = simulate_file(path)

    judgement = judge_world(scenario, report)

    named_all = set(scenario.expected.root_causes) <= set(report["root_causes"])
    accepted = report["outcome"] in scenario.expected.outcomes
    assert judgement.right is (named_all and accepted and not judgement.problems)
    assert judgement.named_no_cause is (report["root_causes"] == [])
    assert judgement.unverified_recoveries == 0
    # A report that names nothing and ends outside the accepted set is wrong on both counts.
    wrong = dict(report, root_causes=[], outcome="abandoned", bypass_issued=False)
    problems = judge_world(scenario, wrong).problems
    assert problems[0].startswith(f"did not name {scenario.expected.root_causes[0]}")
    assert problems[1].startswith("outcome abandoned, expected one of")


def test_the_table_counts_a_two_fault_world_under_each_cause():
    row = {
        "faults": 2,
        "right": False,
        "steps": 9,
        "needless_bypass": True,
        "unverified": 0,
        "no_cause": False,
    }
    table = generated_table([dict(row, causes=["clock_skew", "user_locked_out"])])
    assert "| clock_skew | 2 | 1 | 0 | 9 | 1 | 0 | 0 |" in table
    assert "| user_locked_out | 2 | 1 | 0 | 9 | 1 | 0 | 0 |" in table
    assert "| **all** |  | 1 | 0 | 9 | 1 | 0 | 0 |" in table
