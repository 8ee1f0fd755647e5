import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.conf import playbook_dir
from troubleshooting.models import ImmutableVersionError, Playbook, PlaybookVersion
from troubleshooting.schema import parse_playbook
from troubleshooting.selectors import (
    playbook_definition,
    playbook_version_current,
    playbook_version_for_complaint,
    playbook_version_get,
)
from troubleshooting.services import content_hash, playbook_sync_from_files

pytestmark = pytest.mark.django_db


def write(tmp_path, data, name="mini.yaml", header=""):
    path = tmp_path / name
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_sync_publishes_version_1_with_hash_and_definition(tmp_path):
    path = write(tmp_path, clean_playbook())

    [result] = playbook_sync_from_files([path])

    version = PlaybookVersion.objects.get()
    assert (result.status, result.playbook, result.version) == ("published", "mini", 1)
    assert version.number == 1
    assert version.content_hash == content_hash(parse_playbook(clean_playbook()))
    assert len(version.content_hash) == 64
    assert version.definition["start"] == "status"
    assert version.source == path.read_text(encoding="utf-8")
    assert version.source_file == "mini.yaml"
    assert version.retired_at is None
    assert Playbook.objects.get().complaint == "missing_prompt"


def test_sync_is_idempotent(tmp_path):
    path = write(tmp_path, clean_playbook())
    playbook_sync_from_files([path])

    [result] = playbook_sync_from_files([path])

    assert (result.status, result.version) == ("unchanged", 1)
    assert PlaybookVersion.objects.count() == 1


def test_sync_comment_and_key_order_do_not_make_a_new_version(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    data = clean_playbook()
    reordered = {key: data[key] for key in reversed(list(data))}

    [result] = playbook_sync_from_files([write(tmp_path, reordered, header="# reviewed\n")])

    assert result.status == "unchanged"


def test_sync_changed_file_publishes_next_version_and_keeps_the_old(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    data = clean_playbook()
    node(data, "ask")["prompt"] = "Open Settings > Notifications."

    [result] = playbook_sync_from_files([write(tmp_path, data)])

    assert (result.status, result.version) == ("published", 2)
    old = playbook_version_get("mini", 1)
    new = playbook_version_current("mini")
    assert new.number == 2
    assert old.retired_at == new.published_at
    assert old.content_hash != new.content_hash
    assert playbook_definition(old).node("ask").prompt == ""
    assert playbook_definition(new).node("ask").prompt == "Open Settings > Notifications."
    assert playbook_version_for_complaint("missing_prompt") == new


def test_sync_reverting_a_file_publishes_a_third_version(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    data = clean_playbook()
    node(data, "ask")["prompt"] = "Changed."
    playbook_sync_from_files([write(tmp_path, data)])

    [result] = playbook_sync_from_files([write(tmp_path, clean_playbook())])

    assert (result.status, result.version) == ("published", 3)
    assert (
        playbook_version_get("mini", 3).content_hash == playbook_version_get("mini", 1).content_hash
    )


def test_sync_does_not_publish_a_file_with_findings(tmp_path):
    data = clean_playbook()
    node(data, "status")["check"] = "moon_phase"
    path = write(tmp_path, data)

    [result] = playbook_sync_from_files([path])

    assert result.status == "invalid"
    assert result.problems == [
        f"{path}: node status: no check is registered as moon_phase [unknown-check]"
    ]
    assert PlaybookVersion.objects.count() == 0


def test_sync_playbooks_command(tmp_path, capsys):
    path = write(tmp_path, clean_playbook())

    call_command("sync_playbooks", str(path))
    call_command("sync_playbooks", str(path))

    assert capsys.readouterr().out == (f"{path}: mini v1 published\n{path}: mini v1 unchanged\n")


def test_sync_playbooks_command_fails_on_invalid_file(tmp_path):
    data = clean_playbook()
    del node(data, "status")["outcomes"]["error"]

    with pytest.raises(CommandError, match="1 playbook file"):
        call_command("sync_playbooks", str(write(tmp_path, data)))


def test_published_version_refuses_changes_in_the_model(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    version = PlaybookVersion.objects.get()
    version.definition = {"tampered": True}

    with pytest.raises(ImmutableVersionError, match="definition"):
        version.save()


def test_published_version_refuses_bulk_updates_and_deletes(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])

    with pytest.raises(ImmutableVersionError, match="content_hash"):
        PlaybookVersion.objects.update(content_hash="0" * 64)
    with pytest.raises(ImmutableVersionError):
        PlaybookVersion.objects.get().delete()


def test_published_version_may_be_retired(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    version = PlaybookVersion.objects.get()
    version.retired_at = version.published_at
    version.save()

    assert PlaybookVersion.objects.current().count() == 0


@pytest.mark.postgres
@pytest.mark.skipif(not settings.USING_POSTGRES, reason="the trigger exists on PostgreSQL only")
def test_database_rejects_updating_a_published_definition(tmp_path):
    playbook_sync_from_files([write(tmp_path, clean_playbook())])
    version = PlaybookVersion.objects.get()

    with (
        pytest.raises(DatabaseError, match="pgtrigger"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE troubleshooting_playbookversion SET content_hash = %s WHERE id = %s",
            ["0" * 64, version.pk],
        )
    with (
        pytest.raises(DatabaseError, match="pgtrigger"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM troubleshooting_playbookversion WHERE id = %s", [version.pk])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE troubleshooting_playbookversion SET retired_at = published_at WHERE id = %s",
            [version.pk],
        )
    version.refresh_from_db()
    assert version.retired_at == version.published_at


def test_sync_publishes_the_shipped_playbooks_once():
    first = playbook_sync_from_files()
    second = playbook_sync_from_files()

    # The shipped files and the diagnosis compiled from the root-cause catalog.
    shipped = sorted([*(path.stem for path in playbook_dir().glob("*.yaml")), "diagnose"])
    assert {"enrollment_failure", "missing_prompt", "code_rejected", "lost_device"} <= set(shipped)
    assert sorted((r.playbook, r.status, r.version) for r in first) == [
        (slug, "published", 1) for slug in shipped
    ]
    assert sorted((r.playbook, r.status) for r in second) == [
        (slug, "unchanged") for slug in shipped
    ]
    version = playbook_version_for_complaint("enrollment_failure")
    assert playbook_definition(version).start == "status"
