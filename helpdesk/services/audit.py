"""The tamper-evident audit trail: appending events to hash chains and verifying them.

Design
------
Every ticket is its own chain; events that belong to no ticket (policy and staff changes)
go to named streams ("admin"). A chain per ticket means two technicians working different
tickets never wait on one global lock, while within a ticket the row lock taken on the
ticket serialises appends.

Each event stores ``prev_hash`` (the previous event's hash, or 64 zeros for the first) and
``hash`` = HMAC-SHA-256, keyed with ``settings.AUDIT_HMAC_KEY`` (from the environment, never
stored in the database), over the canonical JSON (sorted keys, no whitespace, UTF-8) of::

    {"stream": "ticket:42" | "admin", "seq": n, "kind": ..., "actor": staff id | null,
     "end_user": id | null, "occurred_at": ISO 8601 UTC with microseconds,
     "payload": {...}, "prev": prev_hash}

The head (last seq and hash) of each chain sits on the Ticket row (or AuditChainHead) and is
moved in the same transaction as the append. Verification therefore catches an edited row
(its hash no longer matches), a deleted or reordered row (the next row's ``prev`` or the
sequence breaks), a deleted newest row (the head points past the end) and an inserted row
(the chain or the head disagrees). What it cannot catch alone is a wholesale rewrite of a
chain together with its head: with the key outside the database, whoever rewrites rows
cannot compute the hashes, so a full rewrite (even one that recomputes every hash and head
with plain SHA-256) no longer verifies. The runtime database role may moreover only INSERT and
SELECT on the event table (``helpdesk.db_roles``), so the app cannot lift the triggers.

Chains written before keyed hashes (``hash_version`` 1, plain SHA-256) stay verifiable: the
migration that introduced the key recorded the last such event id (``AuditHashCutover``, which
the runtime role can only read), and an unkeyed row after it is reported as rewritten. New
rows are ``hash_version`` 2; the first keyed row chains to the last unkeyed one.

Payloads are typed: each kind has a pydantic model; a kind without one is refused. Later
features register the payload models of their own kinds with ``register_payload``.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from pydantic import BaseModel, ConfigDict, Field

from helpdesk.enums import Category, Channel, EventKind, Outcome, Priority, RootCause
from helpdesk.enums import TicketStatus as Status
from helpdesk.models import (
    GENESIS_HASH,
    HASH_HMAC_SHA256,
    HASH_LEGACY_SHA256,
    AuditChainHead,
    AuditHashCutover,
    AuditVerification,
    Staff,
    Ticket,
    TicketEvent,
)


def now() -> datetime:
    # The simulator's clock, so SLA deadlines and expiries move together in simulations.
    from enrollment import clock

    return clock.now()


# --- Payloads ------------------------------------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenedPayload(Payload):
    subject: str
    category: Category
    channel: Channel
    priority: Priority
    assignee_id: int | None = None
    assignee: str | None = None  # username, so the trail reads on its own
    sla_due_at: str


class AssignedPayload(Payload):
    from_assignee_id: int | None
    to_assignee_id: int | None
    # Usernames at the time, so the trail (and its CSV export) reads without joins.
    from_assignee: str | None = None
    to_assignee: str | None = None


class StatusChangedPayload(Payload):
    from_status: Status
    to_status: Status
    note: str = ""


class PriorityChangedPayload(Payload):
    from_priority: Priority
    to_priority: Priority
    sla_due_at: str


class CommentedPayload(Payload):
    body: str = Field(min_length=1, max_length=5000)


class EscalatedPayload(Payload):
    from_status: Status
    from_tier: int
    to_tier: int
    reason: str
    automatic: bool = False


class ResolvedPayload(Payload):
    from_status: Status
    outcome: Outcome
    root_causes: list[RootCause]
    note: str = ""


class ReopenedPayload(Payload):
    from_status: Status
    note: str = ""


class OpenPayload(BaseModel):
    """Placeholder for kinds whose owners have not registered a model yet: any JSON object.
    Registering a real model (``register_payload``) replaces it."""

    model_config = ConfigDict(extra="allow", frozen=True)


PAYLOADS: dict[str, type[BaseModel]] = {
    EventKind.OPENED: OpenedPayload,
    EventKind.ASSIGNED: AssignedPayload,
    EventKind.STATUS_CHANGED: StatusChangedPayload,
    EventKind.PRIORITY_CHANGED: PriorityChangedPayload,
    EventKind.COMMENTED: CommentedPayload,
    EventKind.ESCALATED: EscalatedPayload,
    EventKind.RESOLVED: ResolvedPayload,
    EventKind.REOPENED: ReopenedPayload,
    EventKind.SESSION_STEP: OpenPayload,
    EventKind.CHECK_RESULT: OpenPayload,
    EventKind.IDENTITY_VERIFIED: OpenPayload,
    EventKind.RECOVERY_ACTION: OpenPayload,
    EventKind.POLICY_CHANGED: OpenPayload,
    EventKind.STAFF_CHANGED: OpenPayload,
}


def register_payload(kind: str, model: type[BaseModel]) -> None:
    """Declares the payload model of an event kind (call it at import time of the owning
    module, e.g. in its AppConfig.ready)."""
    PAYLOADS[kind] = model


def payload_validate(kind: str, payload: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The payload as plain JSON data, validated against the kind's model.

    Raises ValueError for an unknown kind and pydantic.ValidationError for a bad payload."""
    model = PAYLOADS.get(kind)
    if model is None:
        raise ValueError(f"Unknown audit event kind {kind!r}: register a payload model first.")
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    return model.model_validate(payload).model_dump(mode="json")


# --- Hashing -------------------------------------------------------------------------------------


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def audit_key() -> bytes:
    """The chain key (AUDIT_HMAC_KEY). Settings refuse to start without one outside debug."""
    return settings.AUDIT_HMAC_KEY.encode()


_payload_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_string = encode_basestring  # a JSON string literal, non-ASCII kept as is (ensure_ascii=False)


def _canonical(
    stream: str,
    seq: int,
    kind: str,
    actor_id: int | None,
    end_user_id: int | None,
    occurred: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> bytes:
    # Exactly json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # for the eight keys in their sorted order, without building and sorting the outer dict,
    # with encoders built once (json.dumps with arguments builds a new encoder per call):
    # verify_audit runs this for every row of the trail.
    actor = "null" if actor_id is None else int(actor_id)
    end_user = "null" if end_user_id is None else int(end_user_id)
    return (
        f'{{"actor":{actor},"end_user":{end_user},"kind":{_string(kind)},'
        f'"occurred_at":"{occurred}","payload":{_payload_json(payload)},'
        f'"prev":{_string(prev_hash)},"seq":{int(seq)},"stream":{_string(stream)}}}'
    ).encode()


def event_hash(
    *,
    stream: str,
    seq: int,
    kind: str,
    actor_id: int | None,
    end_user_id: int | None,
    occurred_at: datetime,
    payload: dict[str, Any],
    prev_hash: str,
    version: int = HASH_HMAC_SHA256,
    key: bytes | None = None,
) -> str:
    """The event's hash: HMAC-SHA-256 with the audit key (version 2), or the plain SHA-256 of
    chains written before keys (version 1, for verifying them only)."""
    data = _canonical(
        stream, seq, kind, actor_id, end_user_id, canonical_time(occurred_at), payload, prev_hash
    )
    if version == HASH_LEGACY_SHA256:
        return hashlib.sha256(data).hexdigest()
    return hmac.digest(key or audit_key(), data, "sha256").hex()


def ticket_stream(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


# --- Appending -----------------------------------------------------------------------------------


def _check_stream_name(stream: str) -> None:
    if not stream or stream.startswith("ticket:") or len(stream) > 40:
        raise ValueError(f"Bad audit stream name {stream!r}.")


@transaction.atomic(savepoint=False)
def ticket_event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor: Staff | None,
    payload: BaseModel | dict[str, Any],
    occurred_at: datetime | None = None,
) -> TicketEvent:
    """Appends one event to the ticket's chain and moves the chain head.

    The general entry point for every feature that writes to a ticket's trail (guided steps,
    checks, identity verifications, recovery actions). Call it inside the transaction of the
    action it records: it locks the ticket row (so appends to one ticket are serialised),
    and any failure here rolls the whole action back. ``actor`` None means the system
    (a scheduled task). Does not check permissions: the calling service already did.

    Raises ValueError (unknown kind), pydantic.ValidationError (bad payload) and any
    database error from the insert.
    """
    data = payload_validate(kind, payload)
    seq, prev_hash, end_user_id = (
        Ticket.objects.select_for_update()
        .filter(pk=ticket.pk)
        .values_list("chain_seq", "chain_hash", "end_user_id")
        .get()
    )
    moment = occurred_at or now()
    seq += 1
    actor_id = actor.pk if actor is not None else None
    digest = event_hash(
        stream=ticket_stream(ticket.pk),
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        end_user_id=end_user_id,
        occurred_at=moment,
        payload=data,
        prev_hash=prev_hash,
    )
    event = TicketEvent.objects.create(
        ticket=ticket,
        seq=seq,
        kind=kind,
        actor=actor,
        end_user_id=end_user_id,
        occurred_at=moment,
        payload=data,
        prev_hash=prev_hash,
        hash=digest,
        hash_version=HASH_HMAC_SHA256,
    )
    Ticket.objects.filter(pk=ticket.pk).update(chain_seq=seq, chain_hash=digest)
    ticket.chain_seq, ticket.chain_hash = seq, digest
    return event


@transaction.atomic(savepoint=False)
def audit_event_record(
    *,
    stream: str,
    kind: str,
    actor: Staff | None,
    payload: BaseModel | dict[str, Any],
    end_user_id: int | None = None,
) -> TicketEvent:
    """Appends one event to a stream that belongs to no ticket (e.g. "admin" for policy and
    staff changes), creating the stream's head on first use. Same guarantees and exceptions
    as ticket_event_record."""
    _check_stream_name(stream)
    data = payload_validate(kind, payload)
    head, _ = AuditChainHead.objects.get_or_create(name=stream)
    head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
    moment = now()
    seq = head.seq + 1
    actor_id = actor.pk if actor is not None else None
    digest = event_hash(
        stream=stream,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        end_user_id=end_user_id,
        occurred_at=moment,
        payload=data,
        prev_hash=head.hash,
    )
    event = TicketEvent.objects.create(
        stream=stream,
        seq=seq,
        kind=kind,
        actor=actor,
        end_user_id=end_user_id,
        occurred_at=moment,
        payload=data,
        prev_hash=head.hash,
        hash=digest,
        hash_version=HASH_HMAC_SHA256,
    )
    head.seq, head.hash = seq, digest
    head.save(update_fields=["seq", "hash"])
    return event


# --- Verifying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    stream: str
    event_id: int | None  # None when the problem is a missing row (the head points past it)
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event id {self.event_id} ({self.stream} seq {self.seq})"
        if self.event_id is None:
            where = f"{self.stream}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    streams_checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class _Rules:
    key: bytes
    # Unkeyed (version 1) rows are genuine only up to this event id (AuditHashCutover).
    last_legacy_id: int


_SELECT = (
    "SELECT id, ticket_id, stream, seq, kind, actor_id, end_user_id, occurred_at, payload, "
    "prev_hash, hash, hash_version FROM helpdesk_ticketevent "
)


def _rows(where_order: str, chunk_size: int) -> Iterator[tuple]:
    """Every event row, streamed: a server-side cursor on PostgreSQL (constant memory at any
    size of the trail), fetchmany chunks elsewhere. Columns as in _SELECT."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor(name=f"verify_audit_{time.monotonic_ns()}") as cursor:
            cursor.itersize = chunk_size
            cursor.execute(_SELECT + where_order)
            yield from cursor
        return
    with connection.cursor() as cursor:
        cursor.execute(_SELECT + where_order)
        while batch := cursor.fetchmany(chunk_size):
            yield from batch


def _occurred_text(value: Any) -> str:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return canonical_time(value)


def _check_chain(
    stream: str, rows: Iterator[tuple], head_seq: int, head_hash: str, rules: _Rules
) -> tuple[int, ChainProblem | None]:
    """Walks one chain in seq order; returns (rows seen, first problem)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    key, last_legacy_id = rules.key, rules.last_legacy_id
    loads, sha256, digest_of = json.loads, hashlib.sha256, hmac.digest
    for row in rows:
        count += 1
        event_id, _t, _s, seq, kind, actor_id, end_user_id, occurred, payload, prev, digest, ver = (
            row
        )
        if isinstance(payload, str | bytes):
            payload = loads(payload)
        data = _canonical(
            stream, seq, kind, actor_id, end_user_id, _occurred_text(occurred), payload, prev
        )
        if ver == HASH_HMAC_SHA256:
            recomputed = digest_of(key, data, "sha256").hex()
        elif ver == HASH_LEGACY_SHA256 and event_id <= last_legacy_id:
            recomputed = sha256(data).hexdigest()
        elif ver == HASH_LEGACY_SHA256:
            return count, ChainProblem(
                stream,
                event_id,
                seq,
                "carries an unkeyed hash but was written after the switch to keyed hashes "
                "(the chain was rewritten without the key)",
            )
        else:
            return count, ChainProblem(stream, event_id, seq, f"unknown hash version {ver}")
        if recomputed != digest:
            return count, ChainProblem(
                stream, event_id, seq, "content does not match its hash (the row was altered)"
            )
        if prev != expected_prev:
            return count, ChainProblem(
                stream,
                event_id,
                seq,
                "does not chain to the previous event (a row before it was removed, "
                "inserted or moved)",
            )
        if seq != expected_seq:
            return count, ChainProblem(
                stream, event_id, seq, f"sequence {seq} where {expected_seq} was expected"
            )
        if seq > head_seq:
            return count, ChainProblem(
                stream,
                event_id,
                seq,
                f"lies beyond the recorded head (seq {head_seq}): an inserted row",
            )
        expected_prev = digest
        expected_seq += 1
    last_seq = expected_seq - 1
    if last_seq < head_seq:
        return count, ChainProblem(
            stream,
            None,
            last_seq + 1,
            f"missing: the head records {head_seq} events but the chain ends at "
            f"{last_seq} (rows were deleted from the end)",
        )
    if expected_prev != head_hash:
        return count, ChainProblem(
            stream, None, None, "the chain's last hash does not match the recorded head"
        )
    return count, None


def _rules(key: bytes | None) -> _Rules:
    cutover = AuditHashCutover.objects.order_by("id").values_list("last_legacy_event_id", flat=True)
    return _Rules(key=key or audit_key(), last_legacy_id=cutover.first() or 0)


def audit_chain_verify(*, chunk_size: int = 20_000, key: bytes | None = None) -> ChainReport:
    """Walks every chain (all tickets, then the named streams) and stops at the first bad
    row. Reads in one repeatable-read snapshot on PostgreSQL so a concurrent append (event
    and head move together) can never look like tampering. Streams rows through server-side
    cursors, so memory stays flat at any size of the trail. ``key`` defaults to
    AUDIT_HMAC_KEY. Side effects: none."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # Only the first statement of a transaction may choose its isolation level; inside
        # an enclosing transaction (tests) the caller's snapshot rules apply.
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rules = _rules(key)
        events_checked = 0
        streams_checked = 0
        ticket_events = _rows("WHERE ticket_id IS NOT NULL ORDER BY ticket_id, seq", chunk_size)
        groups = groupby(ticket_events, key=lambda row: row[1])
        pending = next(groups, None)
        heads = (
            Ticket.objects.order_by("id")
            .values_list("id", "chain_seq", "chain_hash")
            .iterator(chunk_size=chunk_size)
        )
        for ticket_id, head_seq, head_hash in heads:
            rows: Iterator[tuple] = iter(())
            # Every event's ticket exists (foreign key), so groups never run ahead of heads.
            if pending is not None and pending[0] == ticket_id:
                rows = pending[1]
            count, problem = _check_chain(
                ticket_stream(ticket_id), rows, head_seq, head_hash, rules
            )
            events_checked += count
            streams_checked += 1
            if problem is not None:
                return ChainReport(events_checked, streams_checked, problem)
            if pending is not None and pending[0] == ticket_id:
                pending = next(groups, None)

        named_heads = {h.name: h for h in AuditChainHead.objects.all()}
        named_events = _rows("WHERE ticket_id IS NULL ORDER BY stream, seq", chunk_size)
        seen: set[str] = set()
        for stream, rows in groupby(named_events, key=lambda row: row[2]):
            seen.add(stream)
            head = named_heads.get(stream)
            count, problem = _check_chain(
                stream, rows, head.seq if head else 0, head.hash if head else GENESIS_HASH, rules
            )
            events_checked += count
            streams_checked += 1
            if problem is not None:
                return ChainReport(events_checked, streams_checked, problem)
        for name, head in sorted(named_heads.items()):
            if name not in seen and head.seq > 0:
                problem = ChainProblem(
                    name, None, 1, f"missing: the head records {head.seq} events but none exist"
                )
                return ChainReport(events_checked, streams_checked + 1, problem)
        return ChainReport(events_checked, streams_checked + len(named_heads) - len(seen), None)


def audit_verification_run() -> AuditVerification:
    """Verifies every chain and records the result (shown on the audit review page).
    Side effect: one AuditVerification row."""
    started = now()
    report = audit_chain_verify()
    return AuditVerification.objects.create(
        started_at=started,
        finished_at=now(),
        ok=report.ok,
        events_checked=report.events_checked,
        streams_checked=report.streams_checked,
        first_bad_event_id=report.problem.event_id if report.problem else None,
        message=str(report.problem) if report.problem else "",
    )
