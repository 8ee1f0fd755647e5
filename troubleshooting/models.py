"""Published playbooks and their immutable versions.

A playbook file publishes as a PlaybookVersion: a number (1, 2, …), the sha256 of the
canonical form of the validated definition, the definition itself as JSON and the file text
as it was. A changed file publishes a new version; a guided session pins the version it
started on, so a published version never changes: the model refuses it, the queryset refuses
bulk updates of it, and on PostgreSQL a trigger rejects any UPDATE of those columns and any
DELETE. Only `retired_at` (set when a newer version is published) may change.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from enrollment import clock
from troubleshooting.vocab import COMPLAINTS

# Columns a published version may never change.
IMMUTABLE_FIELDS: tuple[str, ...] = (
    "playbook",
    "number",
    "content_hash",
    "definition",
    "source",
    "source_file",
    "published_at",
)


class ImmutableVersionError(Exception):
    """Something tried to change a published playbook version."""


class Playbook(models.Model):
    """One playbook (by its id in the file), across all its versions."""

    slug = models.SlugField(max_length=80, unique=True)
    complaint = models.CharField(max_length=32, choices=[(c, c) for c in COMPLAINTS])
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class PlaybookVersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        touched = sorted(set(kwargs) & set(IMMUTABLE_FIELDS))
        if touched:
            raise ImmutableVersionError(f"published versions are immutable: {', '.join(touched)}")
        return super().update(**kwargs)

    def current(self) -> "PlaybookVersionQuerySet":
        return self.filter(retired_at__isnull=True)


class PlaybookVersion(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    definition = models.JSONField()
    source = models.TextField()
    source_file = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(default=clock.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="published_playbook_versions",
    )
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = PlaybookVersionQuerySet.as_manager()

    class Meta:
        ordering = ["playbook_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "number"], name="playbookversion_number"),
            models.UniqueConstraint(
                fields=["playbook"],
                condition=Q(retired_at__isnull=True),
                name="playbookversion_one_current",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="playbookversion_number_1"),
            models.CheckConstraint(
                condition=Q(retired_at__isnull=True) | Q(retired_at__gte=models.F("published_at")),
                name="playbookversion_retired_after_published",
            ),
        ]
        triggers = [
            pgtrigger.ReadOnly(name="playbookversion_immutable", fields=list(IMMUTABLE_FIELDS)),
            pgtrigger.Protect(name="playbookversion_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.playbook_id} v{self.number}"

    def save(self, *args, **kwargs):
        # Integrity, not business logic: a published version is evidence for every session
        # that ran on it, on any database.
        published = getattr(self, "_published", None)
        if published is not None:
            changed = sorted(
                name for name, value in published.items() if getattr(self, _attname(name)) != value
            )
            if changed:
                raise ImmutableVersionError(
                    f"published versions are immutable: {', '.join(changed)}"
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableVersionError("published versions are never deleted")

    @classmethod
    def from_db(cls, db, field_names, values, *args, **kwargs):
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        instance._published = {
            name: getattr(instance, _attname(name))
            for name in IMMUTABLE_FIELDS
            if _attname(name) in field_names or name in field_names
        }
        return instance


def _attname(name: str) -> str:
    return "playbook_id" if name == "playbook" else name


# --- Guided sessions -----------------------------------------------------------------------------


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    ABANDONED = "abandoned", "Abandoned"


class GuidedSession(models.Model):
    """One technician's walk through a pinned playbook version on a ticket.

    `state` is the engine's SessionState (engine.SessionState.as_dict) after the last current
    step, plus `pending` while a verify or identity push waits for the end user. The step
    records are the evidence; the state can always be rebuilt by replaying the current ones.
    """

    ticket = models.ForeignKey(
        "helpdesk.Ticket", on_delete=models.PROTECT, related_name="guided_sessions"
    )
    version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="sessions")
    application = models.CharField(max_length=200, blank=True)
    state = models.JSONField(default=dict)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.ACTIVE
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guided_sessions"
    )
    started_at = models.DateTimeField(default=clock.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=30, blank=True)
    root_causes = models.JSONField(default=list, blank=True)
    handoff = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(status="active"),
                name="guidedsession_one_active_per_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} on ticket {self.ticket_id}"

    @property
    def is_active(self) -> bool:
        return self.status == SessionStatus.ACTIVE


class StepRecord(models.Model):
    """One step as it was shown and answered: self-describing, so it reads the same after
    the playbook has changed. Never deleted; going back sets `superseded_at`."""

    session = models.ForeignKey(GuidedSession, on_delete=models.PROTECT, related_name="steps")
    sequence = models.PositiveIntegerField()
    # The playbook version the node belongs to: the session's own, or the version a subflow
    # pinned when the session entered it. Null only on records older than subflows.
    version = models.ForeignKey(
        PlaybookVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="step_records",
    )
    node = models.CharField(max_length=80)
    kind = models.CharField(max_length=16)
    title = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(blank=True)
    options = models.JSONField(default=list, blank=True)
    branch = models.CharField(max_length=80)
    target = models.CharField(max_length=80, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    condition_inputs = models.JSONField(default=dict, blank=True)
    named_causes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guided_steps"
    )
    at = models.DateTimeField(default=clock.now)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["session", "sequence"], name="steprecord_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.sequence} {self.node}[{self.branch}]"

    @property
    def branch_label(self) -> str:
        """The branch as the card labelled it (a question's option label)."""
        for option in self.options:
            if isinstance(option, dict) and option.get("branch") == self.branch:
                return option.get("label") or self.branch
        return self.branch
