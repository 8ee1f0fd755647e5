"""The one YAML loader (helpdesk.yaml_files) refuses duplicate keys, deep nesting, aliases,
non-UTF-8 and oversized input, naming the file, the line or key and what was expected; and
every entry point (playbook publishing, lint_playbooks, load_scenario, simulate_case, KB
articles) goes through it."""

from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from authsim.scenarios import SCENARIO_DIR
from helpdesk.yaml_files import (
    MAX_DEPTH,
    PLAYBOOK_MAX_BYTES,
    SCENARIO_MAX_BYTES,
    YamlFileError,
    load_yaml_text,
    read_yaml_file,
)
from tests.troubleshooting.playbook_helpers import clean_playbook
from troubleshooting import kb
from troubleshooting.models import PlaybookVersion

PUBLISH_URL = reverse("troubleshooting:playbook-publish")

DUPLICATE = "id: first\ntitle: A title\nid: second\n"
DEEP = "id: x\nnodes: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
LATIN_1 = "id: caf\u00e9\n".encode("latin-1")


# --- The loader ---------------------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_both_lines():
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text(DUPLICATE, source="case.yaml")

    assert str(caught.value) == (
        "case.yaml: line 3, key id: duplicate key (first written on line 1); expected each key once"
    )


def test_duplicate_key_in_a_nested_mapping_is_found():
    text = "user:\n  username: dana\n  status: active\n  username: lee\n"
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text(text, source="case.yaml")

    assert (caught.value.line, caught.value.key) == (4, "username")


def test_the_same_key_in_two_mappings_is_fine():
    text = "- {id: a}\n- {id: b}\n"
    assert load_yaml_text(text, source="x.yaml") == [{"id": "a"}, {"id": "b"}]


def test_nesting_deeper_than_the_limit_names_the_line():
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text(DEEP, source="deep.yaml")

    assert str(caught.value) == (
        f"deep.yaml: line 2: nested deeper than {MAX_DEPTH} levels; expected a flatter structure"
    )


def test_very_deep_nesting_never_reaches_the_recursion_limit():
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(YamlFileError, match="nested deeper than"):
        load_yaml_text(text, source="deep.yaml")


def test_nesting_at_the_limit_loads():
    depth = MAX_DEPTH - 1  # the top-level mapping is one level
    text = "a: " + "[" * depth + "]" * depth + "\n"
    assert load_yaml_text(text, source="ok.yaml") is not None


def test_aliases_are_refused():
    text = "a: &x [1, 2]\nb: *x\n"
    with pytest.raises(YamlFileError) as caught:
        load_yaml_text(text, source="alias.yaml")

    assert str(caught.value) == (
        "alias.yaml: line 2: alias *x is not supported; write the value out in full"
    )


def test_python_tags_are_refused():
    with pytest.raises(YamlFileError, match="expected valid YAML"):
        load_yaml_text("id: !!python/object/apply:os.system ['true']\n", source="x.yaml")


def test_non_utf8_file_names_the_line_and_byte(tmp_path: Path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: fine\n" + LATIN_1)

    with pytest.raises(YamlFileError) as caught:
        read_yaml_file(path, max_bytes=SCENARIO_MAX_BYTES)

    assert str(caught.value) == (
        f"{path}: line 2: byte 0xe9 is not UTF-8 text; expected a UTF-8 encoded file"
    )


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text("a: b\n" * (SCENARIO_MAX_BYTES // 5 + 1))

    with pytest.raises(YamlFileError) as caught:
        read_yaml_file(path, max_bytes=SCENARIO_MAX_BYTES)

    size = path.stat().st_size
    assert str(caught.value) == (
        f"{path}: the file is {size:,} bytes; expected at most {SCENARIO_MAX_BYTES:,} bytes"
    )


# --- Scenario files: load_scenario and simulate_case ---------------------------------------------


def _scenario_with(tmp_path: Path, name: str, extra: bytes) -> Path:
    base = (SCENARIO_DIR / "device-offline.yaml").read_bytes()
    path = tmp_path / name
    path.write_bytes(base + extra)
    return path


BAD_SCENARIOS = [
    ("dup.yaml", b"id: again\n", "key id: duplicate key (first written on line"),
    ("deep.yaml", b"extra: " + b"[" * 60 + b"]" * 60 + b"\n", "nested deeper than 32 levels"),
    ("latin.yaml", LATIN_1, "is not UTF-8 text; expected a UTF-8 encoded file"),
    ("big.yaml", b"# padding\n" * (SCENARIO_MAX_BYTES // 10), "expected at most 64,000 bytes"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "extra", "expected"), BAD_SCENARIOS)
def test_load_scenario_refuses_the_file_naming_it(tmp_path, name, extra, expected):
    path = _scenario_with(tmp_path, name, extra)

    with pytest.raises(CommandError) as caught:
        call_command("load_scenario", str(path))

    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "extra", "expected"), BAD_SCENARIOS)
def test_simulate_case_refuses_the_file_naming_it(tmp_path, name, extra, expected):
    path = _scenario_with(tmp_path, name, extra)

    with pytest.raises(CommandError) as caught:
        call_command("simulate_case", str(path), "--json")

    assert str(caught.value).startswith(f"bad scenario file {path}: ")
    assert expected in str(caught.value)


# --- Playbook files: lint_playbooks and publishing -----------------------------------------------


def _playbook_text() -> str:
    return yaml.safe_dump(clean_playbook(), sort_keys=False)


BAD_PLAYBOOKS = [
    ("dup.yaml", lambda: (_playbook_text() + "title: again\n").encode(), "key title: duplicate"),
    ("deep.yaml", lambda: DEEP.encode(), "nested deeper than 32 levels"),
    ("latin.yaml", lambda: LATIN_1, "is not UTF-8 text"),
    ("big.yaml", lambda: b"#" * (PLAYBOOK_MAX_BYTES + 1), "expected at most 200,000 bytes"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "expected"), BAD_PLAYBOOKS)
def test_lint_playbooks_reports_the_file_and_the_problem(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content())

    with pytest.raises(CommandError, match=r"1 problem\(s\) in 1 playbook file\(s\)"):
        call_command("lint_playbooks", str(path))

    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{path}: ")
    assert expected in line


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (DUPLICATE, "line 3, key id: duplicate key (first written on line 1)"),
        (DEEP, "line 2: nested deeper than 32 levels"),
    ],
)
def test_publishing_pasted_yaml_is_refused_with_the_line(
    client_for, administrator, source, expected
):
    response = client_for(administrator).post(PUBLISH_URL, {"source": source})

    assert response.status_code == 200
    assert expected in response.content.decode()
    assert PlaybookVersion.objects.count() == 0


@pytest.mark.django_db
def test_publishing_a_non_utf8_upload_is_refused_with_the_line(client_for, administrator):
    upload = SimpleUploadedFile("latin.yaml", b"id: x\n" + LATIN_1)

    response = client_for(administrator).post(PUBLISH_URL, {"upload": upload})

    assert response.status_code == 200
    assert response.context["form"].errors["upload"] == [
        "line 2: byte 0xe9 is not UTF-8 text; expected a UTF-8 encoded file"
    ]
    assert PlaybookVersion.objects.count() == 0


@pytest.mark.django_db
def test_publishing_an_oversized_upload_is_refused(client_for, administrator):
    upload = SimpleUploadedFile("big.yaml", b"#" * (PLAYBOOK_MAX_BYTES + 1))

    response = client_for(administrator).post(PUBLISH_URL, {"upload": upload})

    assert response.status_code == 200
    assert response.context["form"].errors["upload"] == [
        f"The file is {PLAYBOOK_MAX_BYTES + 1:,} bytes; a playbook may be at most "
        f"{PLAYBOOK_MAX_BYTES:,} bytes."
    ]


# --- KB articles ---------------------------------------------------------------------------------


def test_kb_front_matter_with_a_duplicate_key_is_refused(tmp_path: Path):
    path = tmp_path / "twice.md"
    path.write_text("---\ntitle: One\nsummary: S\ntags: [a]\ntitle: Two\n---\nBody\n")

    with pytest.raises(kb.KbFileError) as caught:
        kb.parse_article(path)

    assert str(caught.value) == (
        f"{path}: front matter, line 4, key title: duplicate key (first written on line 1); "
        "expected each key once"
    )
