"""authsim.generator and `manage.py generate_scenarios`: deterministic for a seed, every file
valid against the contract, every root cause reachable, and each world showing its fault
through the service's own sign-in."""

from collections import Counter
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from authsim import caller
from authsim.generator import fault_causes, generate, generate_one
from authsim.oracle import verdict
from authsim.scenarios import parse_scenario, read_scenario
from authsim.vocab import ROOT_CAUSES
from authsim.world import load_scenario

SEED = 20261204


@pytest.mark.parametrize("faults", [1, 2])
def test_a_seed_always_gives_the_same_worlds_and_another_seed_others(faults):
    first = generate(seed=SEED, count=30, faults=faults)

    assert generate(seed=SEED, count=30, faults=faults) == first
    assert generate(seed=SEED + 1, count=30, faults=faults) != first
    # World 7 does not depend on how many are asked for.
    assert generate_one(SEED, 7, faults) == first[7]
    assert len({doc["id"] for doc in first}) == 30


@pytest.mark.parametrize("faults", [1, 2])
def test_every_world_passes_the_loader_and_the_oracle_finds_its_faults(faults):
    for doc in generate(seed=SEED, count=200, faults=faults):
        scenario = parse_scenario(doc, source=doc["id"])
        found = verdict(scenario)
        assert len(scenario.expected.root_causes) == faults, doc["id"]
        assert list(found.root_causes) == scenario.expected.root_causes
        assert sorted(found.outcomes) == scenario.expected.outcomes
        assert scenario.expected.root_cause == found.root_cause
        assert scenario.expected.outcome in scenario.expected.outcomes
        assert scenario.expected.own_method_fixable is ("bypass_issued" not in found.outcomes)


def test_the_generator_reaches_every_root_cause_and_varies_the_world():
    docs = generate(seed=SEED, count=800, faults=1)
    causes = Counter(doc["expected"]["root_cause"] for doc in docs)
    assert sorted(set(ROOT_CAUSES) - set(causes)) == []
    assert sorted(fault_causes()) == sorted(ROOT_CAUSES)

    platforms = {d["platform"] for doc in docs for d in doc["devices"]}
    assert {"ios", "android", "hardware_token"} <= platforms
    scopes = {p["scope"].split(":")[0] for doc in docs for p in doc.get("policies", [])}
    assert scopes == {"global", "application", "group"}
    assert any(p.get("priority") for doc in docs for p in doc.get("policies", []))
    assert any(p.get("exempt_groups") for doc in docs for p in doc.get("policies", []))
    assert any(p.get("permitted_groups") for doc in docs for p in doc.get("policies", []))
    assert any(d.get("remembered") for doc in docs for d in doc["devices"])
    assert any(doc["user"].get("privileged") for doc in docs)
    assert any(doc["user"].get("status") == "bypass" for doc in docs)
    assert any(len(doc["user"]["groups"]) == 2 for doc in docs)
    # Misleading complaints too: a disabled authenticator reported as "no code".
    disabled = {
        d["complaint"] for d in docs if d["expected"]["root_cause"] == "authenticator_disabled"
    }
    assert "code_not_received" in disabled


def test_generate_scenarios_writes_files_the_loader_reads(tmp_path: Path, capsys):
    out = tmp_path / "worlds"

    call_command(
        "generate_scenarios", "--seed", "7", "--count", "5", "--faults", "2", "--out", str(out)
    )

    paths = sorted(out.glob("*.yaml"))
    assert len(paths) == 5
    assert f"Wrote 5 scenario files to {out}" in capsys.readouterr().out
    docs = generate(seed=7, count=5, faults=2)
    assert sorted(yaml.safe_load(p.read_text())["id"] for p in paths) == sorted(
        d["id"] for d in docs
    )
    for path in paths:
        assert len(read_scenario(path).expected.root_causes) == 2


def test_generate_scenarios_refuses_a_bad_count_and_a_file_for_a_folder(tmp_path: Path):
    with pytest.raises(CommandError, match="--count: expected a whole number >= 1"):
        call_command("generate_scenarios", "--seed", "1", "--count", "0", "--out", str(tmp_path))
    taken = tmp_path / "file.txt"
    taken.write_text("")
    with pytest.raises(CommandError, match="exists and is not a folder"):
        call_command("generate_scenarios", "--seed", "1", "--count", "1", "--out", str(taken))
    with pytest.raises(CommandError):
        call_command(
            "generate_scenarios",
            "--seed",
            "1",
            "--count",
            "1",
            "--faults",
            "3",
            "--out",
            str(tmp_path),
        )


@pytest.mark.django_db
@pytest.mark.parametrize("faults", [1, 2])
def test_a_sample_of_worlds_shows_its_fault_through_the_services_sign_in(faults):
    for doc in generate(seed=SEED, count=40, faults=faults):
        scenario = parse_scenario(doc, source=doc["id"])
        user = load_scenario(scenario)
        # The end user lets due deliveries run as simulated time passes (caller.py).
        attempt = caller.sign_in_as_end_user(
            end_user_id=user.pk, application=scenario.application, factor="auto"
        )
        expected = scenario.expected.sign_in
        assert (attempt.result, attempt.reason) == (expected.result, expected.reason), doc["id"]
