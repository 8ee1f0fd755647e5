"""Writes of the troubleshooting app: publishing playbook versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from enrollment import clock
from helpdesk.models import Staff
from troubleshooting import conf
from troubleshooting.lint import lint_paths, playbook_files
from troubleshooting.models import Playbook, PlaybookVersion
from troubleshooting.schema import PlaybookDefinition


def canonical_json(definition: PlaybookDefinition) -> str:
    """The canonical form a version's hash is taken over: the validated definition with every
    default filled in, keys sorted, no insignificant whitespace. Comments, key order and
    quoting in the YAML file do not change it; any change of meaning does."""
    return json.dumps(
        definition.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def content_hash(definition: PlaybookDefinition) -> str:
    return hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()


@transaction.atomic
def playbook_version_publish(
    *,
    definition: PlaybookDefinition,
    source: str,
    source_file: str = "",
    actor: Staff | None = None,
) -> tuple[PlaybookVersion, bool]:
    """Publishes `definition` as the playbook's next version unless the current version has
    the same content hash. Returns (the current version, whether it was just published).

    The caller lints first (playbook_sync_from_files does). Side effects: creates the
    Playbook on first publication, retires the previous version. Concurrent publications of
    one playbook are serialised by a row lock on the Playbook."""
    digest = content_hash(definition)
    playbook, _ = Playbook.objects.get_or_create(
        slug=definition.id,
        defaults={"complaint": definition.complaint, "title": definition.title},
    )
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    current = playbook.versions.current().first()
    if current is not None and current.content_hash == digest:
        return current, False
    now = clock.now()
    last_number = playbook.versions.order_by("-number").values_list("number", flat=True).first()
    if current is not None:
        PlaybookVersion.objects.filter(pk=current.pk).update(retired_at=now)
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=(last_number or 0) + 1,
        content_hash=digest,
        definition=definition.model_dump(mode="json"),
        source=source,
        source_file=source_file,
        published_at=now,
        published_by=actor,
    )
    if (playbook.complaint, playbook.title) != (definition.complaint, definition.title):
        playbook.complaint = definition.complaint
        playbook.title = definition.title
        playbook.save(update_fields=["complaint", "title"])
    return version, True


@dataclass(frozen=True)
class SyncResult:
    file: str
    status: str  # "published" | "unchanged" | "invalid"
    playbook: str | None = None
    version: int | None = None
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.status == "invalid":
            return f"{self.file}: not published, {len(self.problems)} problem(s)"
        return f"{self.file}: {self.playbook} v{self.version} {self.status}"


def playbook_sync_from_files(
    paths: Iterable[str | Path] | None = None, *, actor: Staff | None = None
) -> list[SyncResult]:
    """Publishes every playbook file (the shipped ones by default) whose content changed
    since its current version; idempotent. A file with lint findings is not published and
    its findings are returned; the others still are. The source stored is the text that was
    linted. A file whose content hash is already the current version's is reported
    "unchanged" from one query for all of them, without locking its playbook.

    Side effects: PlaybookVersion rows (see playbook_version_publish)."""
    files = playbook_files(paths)
    report = lint_paths(files)
    by_file: dict[str, list[str]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.file, []).append(str(finding))
    ids_by_file = {file: playbook_id for playbook_id, file in report.files.items()}
    current = _current_versions(report.definitions)
    results = []
    for path in files:
        name = str(path)
        if name in by_file:
            results.append(SyncResult(name, "invalid", problems=by_file[name]))
            continue
        playbook_id = ids_by_file[name]
        definition = report.definitions[playbook_id]
        held = current.get(playbook_id)
        if held is not None and held[0] == content_hash(definition):
            results.append(SyncResult(name, "unchanged", playbook=playbook_id, version=held[1]))
            continue
        version, published = playbook_version_publish(
            definition=definition,
            source=report.sources[playbook_id],
            source_file=path.name,
            actor=actor,
        )
        results.append(
            SyncResult(
                name,
                "published" if published else "unchanged",
                playbook=definition.id,
                version=version.number,
            )
        )
    if paths is None and conf.playbook_dir() == conf.SHIPPED_PLAYBOOK_DIR:
        # The diagnosis ships with the shipped playbooks; a folder of one's own (a test, a
        # training desk) publishes only its files.
        results.append(diagnosis_sync(actor=actor))
    return results


def diagnosis_sync(*, actor: Staff | None = None) -> SyncResult:
    """Publishes the diagnosis compiled from the root-cause catalog when it changed (the
    catalog must lint clean, and so must the compiled playbook)."""
    from troubleshooting.catalog import CATALOG_FILE, CatalogError, lint_catalog, load_catalog
    from troubleshooting.catalog.compile import DIAGNOSIS_ID, compile_diagnosis
    from troubleshooting.lint import lint_definition

    name = str(CATALOG_FILE)
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        return SyncResult(name, "invalid", problems=exc.problems)
    problems = lint_catalog(catalog)
    definition = compile_diagnosis(catalog)
    problems += [str(finding) for finding in lint_definition(definition, file=CATALOG_FILE.name)]
    if problems:
        return SyncResult(name, "invalid", problems=problems)
    held = _current_versions([DIAGNOSIS_ID]).get(DIAGNOSIS_ID)
    if held is not None and held[0] == content_hash(definition):
        return SyncResult(name, "unchanged", playbook=DIAGNOSIS_ID, version=held[1])
    version, published = playbook_version_publish(
        definition=definition,
        source=CATALOG_FILE.read_text(encoding="utf-8"),
        source_file=CATALOG_FILE.name,
        actor=actor,
    )
    return SyncResult(
        name,
        "published" if published else "unchanged",
        playbook=DIAGNOSIS_ID,
        version=version.number,
    )


def _current_versions(slugs: Iterable[str]) -> dict[str, tuple[str, int]]:
    """slug -> (content hash, number) of each playbook's current version."""
    rows = (
        PlaybookVersion.objects.current()
        .filter(playbook__slug__in=list(slugs))
        .values_list("playbook__slug", "content_hash", "number")
    )
    return {slug: (digest, number) for slug, digest, number in rows}
