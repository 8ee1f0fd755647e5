"""simulate_case over the bundled enrollment and prompt scenarios, as scenarios.md
specifies its output: each expected root cause named, the expected outcome reached, and a
verified sign-in wherever access is restored."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from authsim.scenarios import SCENARIO_DIR, bundled_scenarios, read_scenario
from tests.troubleshooting.test_scenarios import GUARDED_FIXES
from troubleshooting.vocab import COMPLAINTS, RESOLVED_OUTCOMES

# Services commit and send after commit: run for real, as the command does.
pytestmark = pytest.mark.django_db(transaction=True)

CASES = sorted(
    path.stem
    for path in bundled_scenarios()
    if read_scenario(path).complaint in ("enrollment_failure", "missing_prompt")
)

KEYS = {
    "scenario",
    "ticket",
    "playbook",
    "playbook_version",
    "steps",
    "root_causes",
    "outcome",
    "verified_sign_in",
    "bypass_issued",
    "identity_verified_by",
    "audit_events",
    "audit_chain_ok",
}


def simulate(*paths) -> object:
    out = StringIO()
    call_command("simulate_case", *[str(p) for p in paths], "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("name", CASES)
def test_simulate_case_reaches_the_expected_root_cause_and_outcome(name):
    path = SCENARIO_DIR / f"{name}.yaml"
    expected = read_scenario(path).expected

    report = simulate(path)

    path_taken = " -> ".join(f"{s['node']}[{s['result']}]" for s in report["steps"])
    assert (expected.root_cause in report["root_causes"], report["outcome"]) == (
        True,
        expected.outcome,
    ), f"{report['root_causes']} via {path_taken}"
    assert set(report) == KEYS
    assert report["scenario"] == name
    assert report["audit_chain_ok"] is True
    if report["outcome"] in RESOLVED_OUTCOMES:
        assert report["verified_sign_in"] is True
    if expected.outcome != "bypass_issued":
        assert report["bypass_issued"] is False, path_taken


@pytest.mark.parametrize("name", sorted(GUARDED_FIXES))
def test_simulate_case_corrects_the_directory_behind_a_verified_identity(name):
    path = SCENARIO_DIR / f"{name}.yaml"
    expected = read_scenario(path).expected

    report = simulate(path)

    taken = [(s["node"], s["result"]) for s in report["steps"]]
    fix = taken.index((GUARDED_FIXES[name], "done"))
    assert taken[fix - 1][1] == "verified" or taken[fix - 2][1] == "verified"
    assert (report["root_causes"], report["outcome"], report["verified_sign_in"]) == (
        [expected.root_cause],
        "enrolled",
        True,
    )
    # A callback to a number of record, or a supervisor when the directory has none.
    assert report["identity_verified_by"] in ("callback", "supervisor")
    assert report["bypass_issued"] is False


def test_simulate_case_reports_an_identity_verified_inside_a_subflow():
    # missing_prompt hands the locked account to the lockout playbook, which calls back.
    report = simulate(SCENARIO_DIR / "user-locked-out-mp.yaml")

    assert report["playbook"] == "missing_prompt"
    assert ("identity_unlock", "verified") in [(s["node"], s["result"]) for s in report["steps"]]
    assert report["identity_verified_by"] == "callback"


def test_simulate_case_prints_an_array_for_several_files_and_runs_a_file_twice():
    path = SCENARIO_DIR / "push-notifications-disabled.yaml"

    reports = simulate(path, path)

    assert [(r["scenario"], r["outcome"]) for r in reports] == [
        ("push-notifications-disabled", "prompt_restored"),
        ("push-notifications-disabled", "prompt_restored"),
    ]
    assert reports[0]["ticket"] != reports[1]["ticket"]
    assert {tuple(step) for step in reports[0]["steps"]} == {("node", "kind", "result")}
    assert reports[0]["audit_events"] == reports[1]["audit_events"]


def test_simulate_case_corrects_a_token_serial_again_in_the_same_database():
    path = SCENARIO_DIR / "invalid-token-serial.yaml"

    reports = simulate(path, path)

    assert [r["outcome"] for r in reports] == ["enrolled", "enrolled"]


def test_simulate_case_names_a_bad_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ncomplaint: missing_prompt\nuser: {username: x}\nsurprise: 1\n")

    with pytest.raises(CommandError, match=r"bad\.yaml.*surprise"):
        simulate(bad)


def test_simulate_case_names_a_missing_file(tmp_path: Path):
    with pytest.raises(CommandError, match=r"nowhere\.yaml"):
        simulate(tmp_path / "nowhere.yaml")


def test_simulate_case_names_a_complaint_without_a_playbook(tmp_path: Path, settings):
    # Every shipped complaint has a playbook, so serve from a folder that has none.
    empty = tmp_path / "playbooks"
    empty.mkdir()
    settings.TROUBLESHOOTING_PLAYBOOK_DIR = str(empty)
    path = tmp_path / "orphan.yaml"
    path.write_text(f"id: orphan\ncomplaint: {COMPLAINTS[0]}\nuser: {{username: orphan.user}}\n")

    with pytest.raises(CommandError, match=r"orphan\.yaml: No playbook is published"):
        simulate(path)
