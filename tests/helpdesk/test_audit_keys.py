"""The audit chain is keyed (HMAC-SHA-256 with AUDIT_HMAC_KEY, never in the database): a full
rewrite of a chain and its head made without the key is caught by verify_audit, and chains
written before keys (plain SHA-256, up to the recorded cutover) still verify."""

import hashlib
import json

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from helpdesk.models import (
    HASH_HMAC_SHA256,
    HASH_LEGACY_SHA256,
    AuditHashCutover,
    Ticket,
    TicketEvent,
)
from helpdesk.services.audit import audit_chain_verify, event_hash, ticket_stream
from helpdesk.services.tickets import ticket_comment
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(technician):
    ticket = open_ticket(technician, end_user_in_unit_of(technician))
    for text in ("one", "two", "three"):
        ticket_comment(actor=technician, ticket=ticket, body=text)
    return ticket


def tamper():
    """Lifts the append-only triggers, as an owner of the tables could (no-op on SQLite)."""
    return pgtrigger.ignore(
        "helpdesk.TicketEvent:append_only_update", "helpdesk.TicketEvent:append_only_delete"
    )


def _rewrite(ticket: Ticket, *, edit: dict, hashing, version: int | None = None) -> None:
    """Edits the first comment and recomputes every hash of the chain and its head with
    `hashing(data) -> hex`, the way an attacker without the key would."""
    prev = "0" * 64
    with tamper(), transaction.atomic():
        for event in TicketEvent.objects.filter(ticket=ticket).order_by("seq"):
            payload = {**event.payload, **edit} if event.seq == 2 else event.payload
            digest = event_hash(
                stream=ticket_stream(ticket.pk),
                seq=event.seq,
                kind=event.kind,
                actor_id=event.actor_id,
                end_user_id=event.end_user_id,
                occurred_at=event.occurred_at,
                payload=payload,
                prev_hash=prev,
                **hashing,
            )
            TicketEvent.objects.filter(pk=event.pk).update(
                payload=payload,
                prev_hash=prev,
                hash=digest,
                hash_version=version or event.hash_version,
            )
            prev = digest
        Ticket.objects.filter(pk=ticket.pk).update(chain_hash=prev)


def _verify_message() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", "--no-record")
    return str(caught.value)


def test_new_events_are_keyed(ticket):
    assert set(TicketEvent.objects.values_list("hash_version", flat=True)) == {HASH_HMAC_SHA256}
    assert audit_chain_verify().ok


def test_full_rewrite_with_plain_sha256_is_caught(ticket):
    """The old attack: edit a row, recompute the unkeyed chain and the head."""
    _rewrite(ticket, edit={"body": "nothing happened"}, hashing={"version": HASH_LEGACY_SHA256})
    first = TicketEvent.objects.get(ticket=ticket, seq=1)

    assert _verify_message() == (
        f"Audit chain broken at event id {first.pk} (ticket:{ticket.pk} seq 1): content does "
        "not match its hash (the row was altered)"
    )


def test_full_rewrite_posing_as_an_unkeyed_legacy_chain_is_caught(ticket):
    _rewrite(
        ticket,
        edit={"body": "nothing happened"},
        hashing={"version": HASH_LEGACY_SHA256},
        version=HASH_LEGACY_SHA256,
    )
    first = TicketEvent.objects.get(ticket=ticket, seq=1)

    assert _verify_message() == (
        f"Audit chain broken at event id {first.pk} (ticket:{ticket.pk} seq 1): carries an "
        "unkeyed hash but was written after the switch to keyed hashes (the chain was "
        "rewritten without the key)"
    )


def test_full_rewrite_with_a_guessed_key_is_caught(ticket):
    _rewrite(ticket, edit={"body": "nothing happened"}, hashing={"key": b"a guessed key"})

    assert "content does not match its hash" in _verify_message()


def test_verification_needs_the_key(ticket):
    assert audit_chain_verify().ok
    report = audit_chain_verify(key=b"not the deployment's key")
    assert not report.ok
    assert report.problem.reason == "content does not match its hash (the row was altered)"


def test_an_unkeyed_chain_written_before_the_cutover_still_verifies_and_grows_keyed(
    ticket, technician
):
    # As the migration found it: every row unkeyed (SHA-256), the cutover after the last.
    _rewrite(ticket, edit={}, hashing={"version": HASH_LEGACY_SHA256}, version=HASH_LEGACY_SHA256)
    last = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    AuditHashCutover.objects.update(last_legacy_event_id=last)
    assert audit_chain_verify().ok

    ticket.refresh_from_db()
    ticket_comment(actor=technician, ticket=ticket, body="after the switch")

    versions = list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("seq")
        .values_list("hash_version", "hash")
    )
    newest = TicketEvent.objects.get(ticket=ticket, seq=5)
    assert [v for v, _ in versions] == [1, 1, 1, 1, 2]
    assert newest.prev_hash == versions[3][1]  # the keyed row chains to the unkeyed tail
    assert audit_chain_verify().ok


def test_an_unkeyed_row_is_plain_sha256_of_the_canonical_json(ticket):
    event = TicketEvent.objects.get(ticket=ticket, seq=1)
    legacy = event_hash(
        stream=ticket_stream(ticket.pk),
        seq=1,
        kind=event.kind,
        actor_id=event.actor_id,
        end_user_id=event.end_user_id,
        occurred_at=event.occurred_at,
        payload=event.payload,
        prev_hash=event.prev_hash,
        version=HASH_LEGACY_SHA256,
    )
    content = {
        "stream": ticket_stream(ticket.pk),
        "seq": 1,
        "kind": event.kind,
        "actor": event.actor_id,
        "end_user": event.end_user_id,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "payload": event.payload,
        "prev": event.prev_hash,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert legacy == hashlib.sha256(text.encode()).hexdigest()
