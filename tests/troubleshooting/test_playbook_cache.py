"""What a process keeps of a playbook file (lint.lint_paths, by the sha256 of its bytes) must
never hide an edit: a changed file is read, parsed and linted again, a broken edit is still
refused, and findings still name the file they were read from. A sync of files whose content
is already current publishes nothing and takes one query."""

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from enrollment import clock
from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.lint import lint_paths
from troubleshooting.models import PlaybookVersion
from troubleshooting.services import playbook_sync_from_files

SCENARIO = """\
id: cache-notifications-off
complaint: missing_prompt
application: VPN
user:
  username: cache.caller
  full_name: Cache Caller
  email: cache.caller@example.com
  mobile: "+14155550177"
devices:
  - key: phone
    platform: ios
    os_version: "17.4"
    notifications_enabled: false
authenticators:
  - method: push
    device: phone
    name: Cache Caller's iPhone
"""


def write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def renamed(data: dict) -> dict:
    """The clean playbook with its decide node renamed `pick` -> `why_it_worked`."""
    node(data, "pick")["id"] = "why_it_worked"
    node(data, "verify")["outcomes"]["success"] = "why_it_worked"
    return data


@pytest.fixture
def playbook_dir(tmp_path, settings):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    settings.TROUBLESHOOTING_PLAYBOOK_DIR = str(folder)
    return folder


def simulate(path) -> dict:
    out = StringIO()
    call_command("simulate_case", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_simulate_case_works_the_edited_file_when_it_publishes_again(playbook_dir, tmp_path):
    playbook = write(playbook_dir / "mini.yaml", clean_playbook())
    scenario = tmp_path / "case.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")

    first = simulate(scenario)
    write(playbook, renamed(clean_playbook()))
    # As in a fresh database: no version serves the complaint, so the case publishes again.
    PlaybookVersion.objects.current().update(retired_at=clock.now())
    second = simulate(scenario)

    assert (first["playbook"], first["playbook_version"]) == ("mini", "1")
    assert [s["node"] for s in first["steps"]][-1] == "pick"
    assert (second["playbook"], second["playbook_version"]) == ("mini", "2")
    assert [s["node"] for s in second["steps"]][-1] == "why_it_worked"
    assert second["outcome"] == first["outcome"] == "prompt_restored"
    stored = PlaybookVersion.objects.get(number=2)
    assert stored.source == playbook.read_text(encoding="utf-8")
    assert "why_it_worked" in {n["id"] for n in stored.definition["nodes"]}


@pytest.mark.django_db
def test_an_edit_that_breaks_a_rule_is_refused_and_the_clean_text_is_current_again(
    playbook_dir,
):
    playbook = write(playbook_dir / "mini.yaml", clean_playbook())
    [published] = playbook_sync_from_files()
    broken = clean_playbook()
    node(broken, "fix")["done"] = "nowhere"
    write(playbook, broken)

    [refused] = playbook_sync_from_files()
    [refused_again] = playbook_sync_from_files()
    write(playbook, clean_playbook())
    [restored] = playbook_sync_from_files()

    assert (published.status, published.version) == ("published", 1)
    assert refused.status == refused_again.status == "invalid"
    assert any(
        "nowhere" in problem and "[unknown-target]" in problem for problem in refused.problems
    )
    assert refused_again.problems == refused.problems
    assert (restored.status, restored.version) == ("unchanged", 1)
    assert PlaybookVersion.objects.count() == 1


def test_lint_paths_reads_an_unchanged_file_once_and_an_edited_one_again(tmp_path):
    playbook = write(tmp_path / "mini.yaml", clean_playbook())

    first = lint_paths([playbook])
    again = lint_paths([playbook])
    write(playbook, renamed(clean_playbook()))
    edited = lint_paths([playbook])

    assert [first.findings, again.findings, edited.findings] == [[], [], []]
    assert again.definitions["mini"] is first.definitions["mini"]
    assert edited.definitions["mini"] is not first.definitions["mini"]
    assert "why_it_worked" in edited.definitions["mini"].node_map()
    assert edited.sources["mini"] == playbook.read_text(encoding="utf-8")


def test_findings_of_one_content_name_each_file_it_is_read_from(tmp_path):
    broken = clean_playbook()
    node(broken, "fix")["done"] = "nowhere"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = write(tmp_path / "a" / "mini.yaml", broken)
    other = write(tmp_path / "b" / "mini.yaml", broken)

    first = lint_paths([one])
    second = lint_paths([other])

    assert {finding.file for finding in first.findings} == {str(one)}
    assert {finding.file for finding in second.findings} == {str(other)}
    assert first.codes() == second.codes()


def test_a_file_that_does_not_parse_names_each_path_it_is_read_from(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")

    first = lint_paths([tmp_path / "a" / "bad.yaml"])
    second = lint_paths([tmp_path / "b" / "bad.yaml"])

    assert [(f.file, f.code) for f in first.findings] == [
        (str(tmp_path / "a" / "bad.yaml"), "schema")
    ]
    assert [(f.file, f.code) for f in second.findings] == [
        (str(tmp_path / "b" / "bad.yaml"), "schema")
    ]
    assert "expected valid YAML" in first.findings[0].message


def test_findings_follow_the_playbooks_a_subflow_may_name(tmp_path):
    data = clean_playbook()
    data["nodes"].append(
        {
            "id": "sub",
            "kind": "subflow",
            "title": "Elsewhere",
            "playbook": "elsewhere",
            "otherwise": "esc",
        }
    )
    node(data, "ask")["options"][0]["next"] = "sub"
    playbook = write(tmp_path / "mini.yaml", data)

    alone = lint_paths([playbook])
    with_it = lint_paths([playbook], known_playbooks=["elsewhere"])
    alone_again = lint_paths([playbook])

    assert "unknown-playbook" in alone.codes()
    assert "unknown-playbook" not in with_it.codes()
    assert alone_again.codes() == alone.codes()


@pytest.mark.django_db
def test_a_sync_of_current_content_publishes_nothing_in_one_query(
    playbook_dir, django_assert_num_queries
):
    write(playbook_dir / "mini.yaml", clean_playbook())
    [published] = playbook_sync_from_files()

    with django_assert_num_queries(1):
        [unchanged] = playbook_sync_from_files()

    assert (published.status, unchanged.status) == ("published", "unchanged")
    assert (unchanged.playbook, unchanged.version) == ("mini", 1)
    assert PlaybookVersion.objects.count() == 1
