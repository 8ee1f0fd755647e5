"""Playbook publishing for administrators: the reads behind the playbook pages and the writes
they make (publish, retire, refuse deletion), each write with an event on the "admin" audit
stream.

Who may do what: PUBLISH_PLAYBOOKS (owners, administrators) publishes and retires; the pages
that only read (the list, a version, its graph, a diff) also serve REVIEW_AUDIT (supervisors
and auditors), since a version is the evidence every guided session pinned.

Deleting: never. A published version is kept even when no session used it: the model and, on
PostgreSQL, a trigger refuse every DELETE, and the audit trail names versions by number, so a
number must keep meaning the same text. Retiring is how a version leaves service. A refused
deletion is still recorded on the audit trail (an attempt to remove evidence is worth seeing).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count

from enrollment import clock
from helpdesk.enums import EventKind
from helpdesk.models import Staff
from helpdesk.roles import Capability
from helpdesk.services.audit import Payload, audit_event_record, register_payload
from troubleshooting.diff import DefinitionDiff, definition_diff, source_diff
from troubleshooting.lint import (
    Finding,
    LintReport,
    _shipped_ids,
    _subflow_cycles,
    lint_definition,
)
from troubleshooting.models import Playbook, PlaybookVersion
from troubleshooting.schema import (
    PlaybookDefinition,
    PlaybookFileError,
    parse_playbook,
    parse_yaml,
)
from troubleshooting.selectors import playbook_definition
from troubleshooting.services import (
    SyncResult,
    content_hash,
    playbook_sync_from_files,
    playbook_version_publish,
)

AUDIT_STREAM = "admin"
# Uploaded playbooks are YAML text; a real one is a few tens of kilobytes.
# Pasted text is counted in characters; a file on disk in bytes (helpdesk.yaml_files).
MAX_SOURCE_CHARS = 200_000


# --- Permissions ---------------------------------------------------------------------------------


def can_view_playbooks(staff: Staff) -> bool:
    return staff.has_capability(Capability.PUBLISH_PLAYBOOKS) or staff.has_capability(
        Capability.REVIEW_AUDIT
    )


def can_publish_playbooks(staff: Staff) -> bool:
    return staff.has_capability(Capability.PUBLISH_PLAYBOOKS)


def _require_publish(actor: Staff) -> None:
    if not can_publish_playbooks(actor):
        raise PermissionDenied("Publishing playbooks needs the publish_playbooks capability.")


# --- Audit payload -------------------------------------------------------------------------------


class PlaybookChangedPayload(Payload):
    action: str  # published | retired | delete_refused
    playbook: str  # the slug
    version: int
    content_hash: str
    by: str  # the acting staff member's username, so the trail reads on its own
    source_file: str = ""
    reason: str = ""


register_payload(EventKind.PLAYBOOK_CHANGED, PlaybookChangedPayload)


def _record(actor: Staff, version: PlaybookVersion, action: str, reason: str = "") -> None:
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.PLAYBOOK_CHANGED,
        actor=actor,
        payload=PlaybookChangedPayload(
            action=action,
            playbook=version.playbook.slug,
            version=version.number,
            content_hash=version.content_hash,
            by=actor.username,
            source_file=version.source_file,
            reason=reason,
        ),
    )


# --- Selectors -----------------------------------------------------------------------------------


@dataclass
class VersionRow:
    version: PlaybookVersion
    sessions: int
    findings: list[Finding]


@dataclass
class PlaybookRow:
    playbook: Playbook
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def current(self) -> VersionRow | None:
        return next((row for row in self.versions if row.version.retired_at is None), None)


def _versions():
    return PlaybookVersion.objects.select_related("playbook", "published_by").annotate(
        session_count=Count("sessions", distinct=True)
    )


def playbook_list_with_versions() -> list[PlaybookRow]:
    """Every playbook with its versions (newest first), how many sessions used each and each
    one's lint findings. Three queries, however many playbooks and versions."""
    rows = {playbook.pk: PlaybookRow(playbook) for playbook in Playbook.objects.order_by("slug")}
    known = _known_playbooks()
    for version in _versions().order_by("playbook__slug", "-number"):
        rows[version.playbook_id].versions.append(
            VersionRow(version, version.session_count, version_findings(version, known=known))
        )
    return list(rows.values())


def playbook_get(slug: str) -> Playbook:
    """Raises Playbook.DoesNotExist."""
    return Playbook.objects.get(slug=slug)


def playbook_version_detail(slug: str, number: int) -> VersionRow:
    """One version with its session count and findings. Raises PlaybookVersion.DoesNotExist."""
    version = _versions().get(playbook__slug=slug, number=number)
    return VersionRow(version, version.session_count, version_findings(version))


def playbook_version_numbers(playbook: Playbook) -> list[int]:
    return list(playbook.versions.order_by("number").values_list("number", flat=True))


# (content hash, label, known playbooks) -> findings. Versions never change, and the rules and
# registries change only with a deployment, so a process keeps what it computed.
_FINDINGS: dict[tuple[str, str, frozenset[str]], tuple[Finding, ...]] = {}
_FINDINGS_MAX = 256


def version_findings(version: PlaybookVersion, *, known: set[str] | None = None) -> list[Finding]:
    """What the linter says about a published version today (the rules and registries may
    have moved on since it was published). `known`: the playbook ids subflows may name (the
    published ones when not given)."""
    label = f"{version.playbook.slug} v{version.number}"
    names = frozenset(_known_playbooks() if known is None else known)
    key = (version.content_hash, label, names)
    if key not in _FINDINGS:
        if len(_FINDINGS) >= _FINDINGS_MAX:
            _FINDINGS.clear()
        _FINDINGS[key] = _lint_stored(version.definition, label, names)
    return list(_FINDINGS[key])


def _lint_stored(data: dict, label: str, known: frozenset[str]) -> tuple[Finding, ...]:
    try:
        definition = parse_playbook(data, file=label)
    except PlaybookFileError as exc:
        return tuple(Finding(label, node, "schema", msg) for node, _, msg in exc.problems)
    return tuple(lint_definition(definition, file=label, known_playbooks=known))


def _known_playbooks() -> set[str]:
    return set(Playbook.objects.values_list("slug", flat=True))


# --- Writes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    version: PlaybookVersion | None
    published: bool
    findings: list[Finding] = field(default_factory=list)
    # Set when the publication expected another version number than the next one: someone
    # published this playbook after the preview was shown, so it must be previewed again.
    conflict: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings and not self.conflict


@dataclass(frozen=True)
class PublishPreview:
    """What publishing a text would do, shown before it is done: the linter's verdict, the
    version it would become and what changes against the current one."""

    source: str
    source_file: str
    sha256: str  # of the text, so the confirmation publishes exactly what was previewed
    findings: list[Finding]
    playbook_id: str = ""
    title: str = ""
    next_number: int = 1
    current: PlaybookVersion | None = None
    unchanged: bool = False  # same content as the current version: nothing to publish
    diff: DefinitionDiff | None = None
    source_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def source_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def normalize_source(source: str) -> str:
    """Line ends as LF: browsers send every form text with CRLF, so a text carried from the
    preview to its confirmation would otherwise come back different from an uploaded file."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def playbook_publish_preview(*, actor: Staff, source: str, source_file: str = "") -> PublishPreview:
    """Lints the text and, when it lints clean, says which version of which playbook it would
    become and how it differs from the current one. Writes nothing. Raises PermissionDenied."""
    _require_publish(actor)
    label = source_file or "pasted playbook"
    definition, findings = lint_source(source, file=label)
    base = {"source": source, "source_file": source_file, "sha256": source_sha256(source)}
    if findings or definition is None:
        return PublishPreview(findings=findings, **base)
    playbook = Playbook.objects.filter(slug=definition.id).first()
    current, last_number = None, 0
    if playbook is not None:
        current = playbook.versions.current().select_related("playbook").first()
        numbers = playbook.versions.order_by("-number").values_list("number", flat=True)
        last_number = numbers.first() or 0
    diff, lines = None, []
    if current is not None:
        diff = definition_diff(playbook_definition(current), definition)
        lines = source_diff(
            current.source, source, old_name=f"v{current.number}", new_name="this text"
        )
    return PublishPreview(
        findings=[],
        playbook_id=definition.id,
        title=definition.title,
        next_number=last_number + 1,
        current=current,
        unchanged=current is not None and current.content_hash == content_hash(definition),
        diff=diff,
        source_lines=lines,
        **base,
    )


def lint_source(source: str, *, file: str) -> tuple[PlaybookDefinition | None, list[Finding]]:
    """Parses and lints playbook YAML text. Returns the definition (None when it does not
    parse) and every finding, each naming `file`."""
    if len(source) > MAX_SOURCE_CHARS:
        return None, [
            Finding(file, None, "schema", f"the file is longer than {MAX_SOURCE_CHARS} characters")
        ]
    try:
        definition = parse_playbook(parse_yaml(source, file=file), file=file)
    except PlaybookFileError as exc:
        return None, [
            Finding(exc.file, node, "schema", f"key {key}: {msg}" if key else msg)
            for node, key, msg in exc.problems
        ]
    known = _known_playbooks() | _shipped_ids()
    findings = lint_definition(definition, file=file, known_playbooks=known)
    return definition, findings + _subflow_cycles_with_published(definition, file=file)


def _subflow_cycles_with_published(definition: PlaybookDefinition, *, file: str) -> list[Finding]:
    """The new version must not close a circle of subflows with the current versions of the
    other playbooks (the linter checks that only among files linted together)."""
    report = LintReport()
    for version in PlaybookVersion.objects.current().select_related("playbook"):
        if version.playbook.slug != definition.id:
            report.definitions[version.playbook.slug] = playbook_definition(version)
            report.files[version.playbook.slug] = f"{version.playbook.slug} v{version.number}"
    report.definitions[definition.id] = definition
    report.files[definition.id] = file
    return [finding for finding in _subflow_cycles(report) if definition.id in _circle(finding)]


def _circle(finding: Finding) -> list[str]:
    """The playbook ids a subflow-cycle finding names ("playbooks a, b call each other …")."""
    return finding.message.removeprefix("playbooks ").split(" call each other")[0].split(", ")


def playbook_publish_source(
    *, actor: Staff, source: str, source_file: str = "", expected_number: int | None = None
) -> PublishResult:
    """Publishes pasted or uploaded playbook text as the playbook's next version, only when it
    lints clean. Unchanged content (same hash as the current version) publishes nothing.
    `expected_number`: the version number the preview promised; when another publication
    took it meanwhile, nothing is published and the result carries a conflict.

    Side effects: a PlaybookVersion (the previous one retired) and an
    "admin.playbook_changed" event (action "published"), in one transaction."""
    _require_publish(actor)
    label = source_file or "pasted playbook"
    definition, findings = lint_source(source, file=label)
    if findings or definition is None:
        return PublishResult(None, False, findings)
    with transaction.atomic():
        if expected_number is not None:
            # Locked as playbook_version_publish locks it, so no publication slips between.
            playbook = Playbook.objects.select_for_update().filter(slug=definition.id).first()
            numbers = playbook.versions.order_by("-number") if playbook else None
            last = numbers.values_list("number", flat=True).first() if numbers else None
            if (last or 0) + 1 != expected_number:
                return PublishResult(
                    None,
                    False,
                    conflict=(
                        f"{definition.id} v{last} was published after your preview, so "
                        "nothing was published. Check the new preview before publishing."
                    ),
                )
        version, published = playbook_version_publish(
            definition=definition, source=source, source_file=source_file, actor=actor
        )
        if published:
            _record(actor, version, "published")
    return PublishResult(version, published)


def playbook_publish_from_disk(
    *, actor: Staff, paths: list[str | Path] | None = None
) -> list[SyncResult]:
    """Publishes every changed playbook file on disk (the shipped ones by default), as
    `manage.py sync_playbooks` does, and records an event for each version published."""
    _require_publish(actor)
    with transaction.atomic():
        results = playbook_sync_from_files(paths, actor=actor)
        for result in results:
            if result.status == "published":
                version = PlaybookVersion.objects.select_related("playbook").get(
                    playbook__slug=result.playbook, number=result.version
                )
                _record(actor, version, "published")
    return results


@transaction.atomic
def playbook_version_retire(*, actor: Staff, version: PlaybookVersion) -> PlaybookVersion:
    """Takes a version out of service: new sessions no longer start on it (sessions already
    pinned to it run on). Retiring the current version leaves the playbook with none until
    the next publication. Raises ValidationError when it is already retired.

    Side effects: sets retired_at; an "admin.playbook_changed" event (action "retired")."""
    _require_publish(actor)
    Playbook.objects.select_for_update().get(pk=version.playbook_id)
    retired_at = (
        PlaybookVersion.objects.filter(pk=version.pk).values_list("retired_at", flat=True).get()
    )
    if retired_at is not None:
        raise ValidationError(f"Version {version.number} is already retired.")
    PlaybookVersion.objects.filter(pk=version.pk).update(retired_at=clock.now())
    version.refresh_from_db(fields=["retired_at"])
    _record(actor, version, "retired")
    return version


def playbook_version_delete(*, actor: Staff, version: PlaybookVersion) -> None:
    """Always refuses (see the module docstring): raises ValidationError with the reason,
    after recording the refused attempt (action "delete_refused")."""
    _require_publish(actor)
    sessions = version.sessions.count()
    if sessions:
        reason = (
            f"Version {version.number} cannot be deleted: {sessions} guided session(s) "
            "used it, and they must keep reading the steps they followed. Retire it instead."
        )
    else:
        reason = (
            f"Version {version.number} cannot be deleted: published versions are kept as "
            "evidence even when unused. Retire it to take it out of service."
        )
    with transaction.atomic():
        _record(actor, version, "delete_refused", reason=reason)
    raise ValidationError(reason)
