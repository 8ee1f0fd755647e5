import pgtrigger
from django.contrib.auth.models import AbstractUser
from django.db import models

from helpdesk.roles import Capability, Role, capabilities_of


class Staff(AbstractUser):
    """A person who signs in to the helpdesk. End users never do."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READ_ONLY)
    # The staff member's own account in the directory the helpdesk serves, when they have
    # one: what decides "own account" (nobody recovers or verifies themselves). Set by an
    # administrator through helpdesk.services.staff.staff_link_directory_identity.
    directory_identity = models.OneToOneField(
        "enrollment.EndUser",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_account",
    )

    class Meta:
        verbose_name = "staff member"
        verbose_name_plural = "staff"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="staff_role_valid"
            ),
        ]

    def has_capability(self, capability: Capability) -> bool:
        return self.is_active and capability in capabilities_of(self.role)

    # The admin site asks for Django model permissions; owners and administrators hold them
    # all through their role, everyone else none. Finer rules live in the ModelAdmins.
    def has_perm(self, perm: str, obj=None) -> bool:
        return self.has_capability(Capability.DJANGO_ADMIN) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        return self.has_capability(Capability.DJANGO_ADMIN) or super().has_module_perms(app_label)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities_of(self.role) if self.is_active else frozenset()


class StaffSetupLink(models.Model):
    """A one-time link a new staff member follows to choose their password and enroll their
    own authenticator app, so that nobody else (their creator included) ever knows a
    password or a TOTP key of theirs.

    Only the SHA-256 of the token is stored; the token itself exists in the email that
    carries it. It is filled in by the task that sends the email (token_hash empty until
    then), used once (used_at) and expires (expires_at).
    """

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="setup_links")
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Set-up link #{self.pk} for {self.staff_id}"


class AdministrativeUnit(models.Model):
    """Binds staff to groups of end users.

    Staff bound to one or more units see and act on end users in those units' groups only;
    staff bound to none are unrestricted. Owners are never restricted.
    """

    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=300, blank=True)
    groups = models.ManyToManyField("enrollment.Group", related_name="administrative_units")
    staff = models.ManyToManyField(Staff, related_name="administrative_units", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Tickets and the audit trail ----------------------------------------------------------------
# Vocabularies live in helpdesk/enums.py; every write goes through helpdesk/services/.

# The hash a stream's first event chains to.
GENESIS_HASH = "0" * 64
# How an event's hash was computed (TicketEvent.hash_version): plain SHA-256 for chains written
# before keyed hashes, HMAC-SHA-256 with AUDIT_HMAC_KEY since (helpdesk.services.audit).
HASH_LEGACY_SHA256 = 1
HASH_HMAC_SHA256 = 2


class Ticket(models.Model):
    """One caller's problem, from first call to closure.

    The ticket number shown to people is the primary key (``number``): the database sequence
    hands out unique, increasing numbers across every web process without a lock of ours.

    ``version`` is the optimistic-concurrency counter: every change to the ticket's fields
    bumps it, and an edit made from a stale page (carrying an older version) is refused.
    ``chain_seq`` / ``chain_hash`` are the head of this ticket's audit chain, moved in the
    same transaction as each event is appended, so deleting the newest event shows up as a
    head that points past the end of the chain.

    ``search_text`` is the subject plus the end user's username, name and email captured at
    opening, so the queue's search needs no join; on PostgreSQL a GIN index over its
    ``to_tsvector('simple', …)`` serves the full-text search (migration 0003).
    """

    end_user = models.ForeignKey(
        "enrollment.EndUser", on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=30)
    channel = models.CharField(max_length=20)
    priority = models.CharField(max_length=10)
    status = models.CharField(max_length=20, default="new")
    tier = models.PositiveSmallIntegerField(default=1)
    assignee = models.ForeignKey(
        Staff,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    opened_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="opened_tickets")
    root_causes = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=30, blank=True)
    opened_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()
    # Set when the SLA task escalated the ticket; it never escalates the same breach twice.
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    search_text = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    chain_seq = models.PositiveIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Queues read "newest first, LIMIT n+1" through these partial indexes, so a page
            # costs the same at a thousand tickets or a million (keyset pagination on id).
            models.Index(
                fields=["-id"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting_on_user", "escalated"]
                ),
                name="ticket_open_idx",
            ),
            models.Index(
                fields=["assignee", "-id"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting_on_user", "escalated"]
                ),
                name="ticket_open_assignee_idx",
            ),
            models.Index(
                fields=["-id"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting_on_user", "escalated"],
                    assignee__isnull=True,
                ),
                name="ticket_unassigned_idx",
            ),
            # The SLA task's scan: open, not escalated yet, not already breached.
            models.Index(
                fields=["sla_due_at"],
                condition=models.Q(
                    status__in=["new", "in_progress", "waiting_on_user"],
                    sla_breached_at__isnull=True,
                ),
                name="ticket_sla_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "new",
                        "in_progress",
                        "waiting_on_user",
                        "escalated",
                        "resolved",
                        "closed",
                    ]
                ),
                name="ticket_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=["low", "normal", "high", "urgent"]),
                name="ticket_priority_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["phone", "chat", "email", "walk_in"]),
                name="ticket_channel_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=[1, 2, 3]), name="ticket_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> int | None:
        return self.pk


class TicketEvent(models.Model):
    """One row of the append-only, hash-chained audit trail.

    Each stream is a chain: every ticket has its own (``ticket`` set, ``stream`` empty), so
    busy tickets never wait on each other's lock; events that belong to no ticket (policy
    and staff changes) go to a named stream (``ticket`` null, ``stream`` e.g. "admin") whose
    head lives in :class:`AuditChainHead`.

    ``hash`` is the HMAC-SHA-256 (``hash_version`` 2; plain SHA-256 for rows written before
    keyed hashes, version 1) of the canonical JSON of (stream, seq, kind, actor id, end user
    id, occurred_at, payload, prev_hash) — see helpdesk.services.audit.event_hash. Rows are
    never updated or deleted; on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE.
    """

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    stream = models.CharField(max_length=40, blank=True)
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_user = models.ForeignKey(
        "enrollment.EndUser",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    occurred_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    hash_version = models.PositiveSmallIntegerField(
        default=HASH_HMAC_SHA256, db_default=HASH_HMAC_SHA256
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["occurred_at"], name="ticketevent_occurred_idx"),
            models.Index(fields=["kind", "-id"], name="ticketevent_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "seq"],
                condition=models.Q(ticket__isnull=False),
                name="ticketevent_ticket_seq_unique",
            ),
            models.UniqueConstraint(
                fields=["stream", "seq"],
                condition=models.Q(ticket__isnull=True),
                name="ticketevent_stream_seq_unique",
            ),
            # Exactly one of: a ticket, or a named stream.
            models.CheckConstraint(
                condition=(
                    models.Q(ticket__isnull=False, stream="")
                    | (models.Q(ticket__isnull=True) & ~models.Q(stream=""))
                ),
                name="ticketevent_one_stream",
            ),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="ticketevent_seq_positive"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
            pgtrigger.Trigger(
                name="append_only_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream_label} #{self.seq} {self.kind}"

    @property
    def stream_label(self) -> str:
        return f"ticket:{self.ticket_id}" if self.ticket_id is not None else self.stream


class AuditChainHead(models.Model):
    """The head (last sequence number and hash) of a stream that belongs to no ticket."""

    name = models.CharField(max_length=40, unique=True)
    seq = models.PositiveIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.name} @ {self.seq}"


class AuditHashCutover(models.Model):
    """Where unkeyed (SHA-256) events end: the last event id written before keyed hashes.

    Written once by the migration that introduced keyed hashes, run as the database owner; the
    runtime role may only read it (helpdesk.db_roles). verify_audit accepts an unkeyed row only
    at or below this id, so a rewrite that falls back to plain SHA-256 is still caught."""

    last_legacy_event_id = models.BigIntegerField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"unkeyed up to event {self.last_legacy_event_id}"


class AuditVerification(models.Model):
    """The result of one walk of every chain (verify_audit or the nightly task); the audit
    review page shows the latest, since walking millions of rows per page view is not an
    option."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    events_checked = models.PositiveBigIntegerField()
    streams_checked = models.PositiveBigIntegerField()
    first_bad_event_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        get_latest_by = "id"

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'} at {self.finished_at:%Y-%m-%d %H:%M}"


# --- Dashboard aggregates (helpdesk.dashboard_tallies says what each row counts) ----------------


class DashboardGroupSet(models.Model):
    """One distinct set of directory groups an end user with tickets belongs to, written as
    ``,3,7,`` (sorted ids between commas; ``,`` for none). The dashboard's team filter and the
    viewer's administrative units pick the sets that meet their groups, so units may change
    their groups without touching the tallies."""

    members = models.CharField(max_length=2000, unique=True)

    def __str__(self) -> str:
        return self.members

    @property
    def group_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.members.split(",") if part)


class DashboardTicketFacts(models.Model):
    """What one ticket adds to the dashboard tallies, as last applied: its key (day opened,
    complaint, group set, playbook versions of its sessions) and its tallies. A change to the
    ticket subtracts these and adds the new ones, in the change's transaction."""

    ticket = models.OneToOneField(
        "helpdesk.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    day = models.IntegerField()
    category = models.CharField(max_length=30)
    groupset = models.ForeignKey(DashboardGroupSet, on_delete=models.PROTECT, related_name="+")
    versions = models.CharField(max_length=400)
    tallies = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"facts of ticket {self.ticket_id}"


class DashboardTally(models.Model):
    """A count over the tickets opened in one block of days: block ``block`` of level
    ``level`` covers days ``block * 2**level`` to ``(block + 1) * 2**level - 1`` (days since
    1970-01-01, UTC), so any date range is a handful of blocks. ``kind`` names the figure;
    ``version`` is the playbook version for per-version figures (0 otherwise); ``bucket`` the
    histogram bucket of a duration (0 otherwise); ``label`` the outcome, node, path, cause or
    escalation reason, and ``digest`` its MD5 so the unique key stays short."""

    level = models.SmallIntegerField()
    block = models.IntegerField()
    category = models.CharField(max_length=30)
    groupset = models.ForeignKey(DashboardGroupSet, on_delete=models.PROTECT, related_name="+")
    versions = models.CharField(max_length=400)
    kind = models.CharField(max_length=16)
    version = models.IntegerField()
    bucket = models.SmallIntegerField()
    digest = models.CharField(max_length=32)
    label = models.TextField()
    n = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "level",
                    "block",
                    "category",
                    "groupset",
                    "versions",
                    "kind",
                    "version",
                    "bucket",
                    "digest",
                ],
                name="dashboardtally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.label} L{self.level}/{self.block}: {self.n}"


class TaskOutbox(models.Model):
    """A task that could not be handed to the broker (Redis down), kept until it is sent.

    helpdesk.outbox writes a row when enqueueing fails and sends pending rows from the beat
    job ``send_task_outbox`` and after the next enqueue that succeeds, so nothing a page asked
    for is lost while the broker is away. ``end_user`` lets the ticket page tell the technician
    that a notification about that end user is delayed.
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    end_user = models.ForeignKey(
        "enrollment.EndUser", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_pending_idx"
            ),
            models.Index(
                fields=["end_user"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_pending_user_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} {'sent' if self.sent_at else 'pending'}"
