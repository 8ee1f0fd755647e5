"""300 generated worlds (authsim.generator, a fixed seed: 150 with one fault, 150 with two)
worked through simulate_case, each judged against the oracle by corpus_report's
`judge_world`, asserting what must hold on every world whatever the engine gets right:
the session reaches an end, the audit chain verifies, no recovery action is taken without
an identity verification, and a user already in `bypass` status gets no new bypass code
without a reason on the trail.

How often the sessions are right is measured by `manage.py corpus_report --generate`; the
per-world judgement is the one `judge_world` call below, so thresholds can be added here.
"""

import pytest

from authsim.management.commands.generate_scenarios import write_worlds
from authsim.scenarios import read_scenario
from troubleshooting.management.commands.corpus_report import CASE_SETTINGS, judge_world
from troubleshooting.management.commands.simulate_case import simulate_file

# Services commit and send after commit: run for real, as the command does. Each batch
# starts from an empty database; the teardown empties only the tables it wrote.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reset_used_tables]

SEED = 4242
WORLDS = 150  # per fault count
BATCH = 15
BATCHES = [(faults, start) for faults in (1, 2) for start in range(0, WORLDS, BATCH)]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[int, list]:
    out = tmp_path_factory.mktemp("generated")
    return {
        faults: write_worlds(seed=SEED, count=WORLDS, faults=faults, out=out / str(faults))
        for faults in (1, 2)
    }


@pytest.mark.parametrize(("faults", "start"), BATCHES, ids=lambda v: str(v))
def test_generated_worlds_keep_the_invariants(worlds, faults, start, settings):
    # Separate calls worked by one simulated technician, as corpus_report does.
    for name, value in CASE_SETTINGS.items():
        setattr(settings, name, value)
    broken = []
    for path in worlds[faults][start : start + BATCH]:
        scenario = read_scenario(path)
        report = simulate_file(path)
        judgement = judge_world(scenario, report)
        problems = []
        if report["outcome"] is None:
            problems.append("the session reached no end")
        if not report["audit_chain_ok"]:
            problems.append("the audit chain does not verify")
        if judgement.unverified_recoveries:
            problems.append(f"{judgement.unverified_recoveries} recovery actions unverified")
        if judgement.bypass_again_without_reason:
            problems.append("a new bypass code for a user in bypass status, without a reason")
        if problems:
            broken.append(f"{path.stem}: {'; '.join(problems)}")
    assert broken == []
