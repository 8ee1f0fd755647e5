"""Reads of the troubleshooting app that views, sessions and simulate_case share."""

from __future__ import annotations

from troubleshooting.models import PlaybookVersion
from troubleshooting.schema import PlaybookDefinition, PlaybookFileError, parse_playbook


def playbook_version_current(slug: str) -> PlaybookVersion | None:
    """The version new sessions of this playbook start on (None if never published)."""
    return (
        PlaybookVersion.objects.current()
        .select_related("playbook")
        .filter(playbook__slug=slug)
        .first()
    )


def playbook_version_for_complaint(complaint: str) -> PlaybookVersion | None:
    """The current version of the playbook serving a complaint category."""
    return (
        PlaybookVersion.objects.current()
        .select_related("playbook")
        .filter(playbook__complaint=complaint)
        # The diagnosis serves every complaint from inside a session, never as its start.
        .exclude(playbook__slug="diagnose")
        .order_by("playbook__slug")
        .first()
    )


def playbook_version_get(slug: str, number: int) -> PlaybookVersion:
    """One version, retired or not (a pinned session reads its own). Raises DoesNotExist."""
    return PlaybookVersion.objects.select_related("playbook").get(
        playbook__slug=slug, number=number
    )


def playbook_definition(version: PlaybookVersion) -> PlaybookDefinition:
    """The parsed definition of a version, kept per process by content hash: the hash is taken
    over the canonical definition, so versions with one hash (in any playbook, in any
    database the process has used) have one definition, and a version never changes."""
    found = _DEFINITIONS.get(version.content_hash)
    if found is None:
        if "definition" in version.__dict__:  # loaded with the row: no query needed
            found = parse_playbook(version.definition, file=f"playbook version {version.pk}")
        else:
            found = _parse(version.pk)
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.clear()
        _DEFINITIONS[version.content_hash] = found
    return found


_DEFINITIONS: dict[str, PlaybookDefinition] = {}
_DEFINITIONS_MAX = 64


def playbook_node_titles(version: PlaybookVersion) -> dict[str, str]:
    """Each node's title by its id, for pages that report on steps by node; empty for a stored
    definition that no longer parses (the page then words the ids instead of failing)."""
    try:
        definition = playbook_definition(version)
    except PlaybookFileError:
        return {}
    return {node.id: node.title for node in definition.nodes}


def _parse(version_id: int) -> PlaybookDefinition:
    definition = PlaybookVersion.objects.values_list("definition", flat=True).get(pk=version_id)
    return parse_playbook(definition, file=f"playbook version {version_id}")


def session_latest_for_ticket(ticket_id: int):
    """The ticket's active guided session, else its most recent one (None if never
    started). The caller has checked the ticket is in scope."""
    from troubleshooting.models import GuidedSession, SessionStatus

    sessions = GuidedSession.objects.select_related(
        "version__playbook", "ticket__end_user", "started_by"
    ).filter(ticket_id=ticket_id)
    return (
        sessions.filter(status=SessionStatus.ACTIVE).first()
        or sessions.order_by("-started_at", "-pk").first()
    )
