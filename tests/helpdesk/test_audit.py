"""The hash chain: five ways of tampering, each caught by verify_audit; the database
refusing UPDATE, DELETE and TRUNCATE on PostgreSQL."""

import re

import pgtrigger
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from helpdesk.enums import EventKind, TicketStatus
from helpdesk.models import AuditChainHead, AuditVerification, TicketEvent
from helpdesk.services.audit import (
    audit_chain_verify,
    audit_event_record,
    event_hash,
    ticket_event_record,
)
from helpdesk.services.tickets import ticket_change_status, ticket_comment
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

postgres_only = pytest.mark.skipif(
    not settings.USING_POSTGRES, reason="triggers exist on PostgreSQL only"
)
TRIGGERS = (
    "helpdesk.TicketEvent:append_only_update",
    "helpdesk.TicketEvent:append_only_delete",
)


@pytest.fixture
def ticket(technician):
    """A ticket with a five-event chain, and a second ticket before it with two events."""
    end_user = end_user_in_unit_of(technician)
    first = open_ticket(technician, end_user, subject="Earlier ticket")
    ticket_comment(actor=technician, ticket=first, body="Earlier")
    ticket = open_ticket(technician, end_user)
    ticket_change_status(
        actor=technician, ticket=ticket, status=TicketStatus.IN_PROGRESS, expected_version=1
    )
    for text in ("one", "two", "three"):
        ticket_comment(actor=technician, ticket=ticket, body=text)
    return ticket


def events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("seq"))


def tamper():
    """Lifts the append-only triggers for this thread (a no-op on SQLite, which has none)."""
    return pgtrigger.ignore(*TRIGGERS)


def verify_fails_with(message: str) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", "--no-record")
    assert str(excinfo.value) == f"Audit chain broken at {message}"
    assert excinfo.value.returncode == 1


def test_intact_chain_verifies(ticket, capsys):
    call_command("verify_audit")
    intact, rate = capsys.readouterr().out.splitlines()
    assert intact == "Audit trail intact: 7 events in 2 chains verified."
    assert re.fullmatch(r"Verified in \d+\.\d s \([\d,]+ events/s\)\.", rate)
    assert AuditVerification.objects.get().ok is True


def test_edited_payload_is_caught(ticket):
    target = events(ticket)[3]
    with tamper():
        TicketEvent.objects.filter(pk=target.pk).update(payload={"body": "harmless"})
    verify_fails_with(
        f"event id {target.pk} (ticket:{ticket.pk} seq 4): content does not match its hash "
        "(the row was altered)"
    )


def test_deleted_middle_row_is_caught(ticket):
    rows = events(ticket)
    with tamper():
        TicketEvent.objects.filter(pk=rows[2].pk).delete()
    verify_fails_with(
        f"event id {rows[3].pk} (ticket:{ticket.pk} seq 4): does not chain to the previous "
        "event (a row before it was removed, inserted or moved)"
    )


def test_deleted_last_row_is_caught(ticket):
    rows = events(ticket)
    with tamper():
        TicketEvent.objects.filter(pk=rows[-1].pk).delete()
    verify_fails_with(
        f"ticket:{ticket.pk} seq 5: missing: the head records 5 events but the chain ends at 4 "
        "(rows were deleted from the end)"
    )


def test_reordered_rows_are_caught(ticket):
    rows = events(ticket)
    # Swap the positions of events 3 and 4 (through a free number: seq is unique per ticket).
    with tamper(), transaction.atomic():
        TicketEvent.objects.filter(pk=rows[2].pk).update(seq=99)
        TicketEvent.objects.filter(pk=rows[3].pk).update(seq=3)
        TicketEvent.objects.filter(pk=rows[2].pk).update(seq=4)
    verify_fails_with(
        f"event id {rows[3].pk} (ticket:{ticket.pk} seq 3): content does not match its hash "
        "(the row was altered)"
    )


def test_inserted_row_with_a_valid_hash_is_caught(ticket):
    # A forger who knows the algorithm appends a well-formed row but cannot move the head
    # without also editing the ticket; plain INSERT is not blocked by the triggers.
    last = events(ticket)[-1]
    payload = {"body": "forged"}
    digest = event_hash(
        stream=f"ticket:{ticket.pk}",
        seq=6,
        kind=EventKind.COMMENTED,
        actor_id=last.actor_id,
        end_user_id=last.end_user_id,
        occurred_at=last.occurred_at,
        payload=payload,
        prev_hash=last.hash,
    )
    forged = TicketEvent.objects.create(
        ticket=ticket,
        seq=6,
        kind=EventKind.COMMENTED,
        actor_id=last.actor_id,
        end_user_id=last.end_user_id,
        occurred_at=last.occurred_at,
        payload=payload,
        prev_hash=last.hash,
        hash=digest,
    )
    verify_fails_with(
        f"event id {forged.pk} (ticket:{ticket.pk} seq 6): lies beyond the recorded head "
        "(seq 5): an inserted row"
    )


def test_verification_result_is_recorded_when_broken(ticket):
    target = events(ticket)[0]
    with tamper():
        TicketEvent.objects.filter(pk=target.pk).update(kind=EventKind.ESCALATED)
    with pytest.raises(CommandError):
        call_command("verify_audit")
    result = AuditVerification.objects.get()
    assert (result.ok, result.first_bad_event_id) == (False, target.pk)


def test_admin_stream_chains_and_verifies(technician, ticket):
    policy_change = {"action": "updated", "policy_id": 1, "policy": "global", "by": "ada"}
    staff_change = {
        "action": "deactivated",
        "subject": "staff",
        "target_id": 2,
        "target": "sam",
        "by": "ada",
    }
    audit_event_record(
        stream="admin", kind=EventKind.POLICY_CHANGED, actor=technician, payload=policy_change
    )
    second = audit_event_record(
        stream="admin", kind=EventKind.STAFF_CHANGED, actor=technician, payload=staff_change
    )
    assert (second.seq, AuditChainHead.objects.get(name="admin").seq) == (2, 2)
    assert audit_chain_verify().ok is True
    with tamper():
        TicketEvent.objects.filter(pk=second.pk).update(payload={**staff_change, "target": "x"})
    assert str(audit_chain_verify().problem) == (
        f"event id {second.pk} (admin seq 2): content does not match its hash (the row was altered)"
    )


def test_admin_payloads_are_typed(technician):
    from pydantic import ValidationError

    # The record joins its caller's transaction (a failed event dooms the action), so the
    # test gives it a savepoint of its own.
    with pytest.raises(ValidationError), transaction.atomic():
        audit_event_record(
            stream="admin", kind=EventKind.POLICY_CHANGED, actor=technician, payload={"policy": 1}
        )
    assert not TicketEvent.objects.filter(kind=EventKind.POLICY_CHANGED).exists()


def test_unknown_event_kind_is_refused(technician, ticket):
    with pytest.raises(ValueError, match=r"Unknown audit event kind 'ticket\.teleported'"):
        ticket_event_record(ticket=ticket, kind="ticket.teleported", actor=technician, payload={})


def _execute(statement: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE helpdesk_ticketevent SET kind = 'x'",
        "DELETE FROM helpdesk_ticketevent",
        "TRUNCATE helpdesk_ticketevent",
    ],
)
def test_database_refuses_changes_to_the_trail(ticket, statement):
    # Run the test's deferred foreign-key checks now: PostgreSQL refuses TRUNCATE with
    # checks pending before any trigger gets a say.
    _execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"):
        _execute(statement)
    assert TicketEvent.objects.count() == 7
