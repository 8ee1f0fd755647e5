"""Typed payloads of the ticket events the recovery actions and identity verifications write.

Every event says what was done (or refused), by whom (the event's actor, plus the username so
the trail reads on its own), why (the technician's reason) and how each guard decided. No
payload ever carries a bypass code or any other secret, nor a phone number in full: the trail
is append-only and kept for years, so a number is written as its last two digits.
"""

from typing import Any

from pydantic import Field

from helpdesk.enums import EventKind
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.services.audit import Payload, register_payload, ticket_event_record
from helpdesk.services.tickets import ticket_first_response_mark


class GuardResultPayload(Payload):
    name: str
    passed: bool
    detail: str = ""


class RecoveryActionPayload(Payload):
    action: str  # the service's name, e.g. "bypass_code_issue"
    # done | refused | failed | requested | approved | denied
    outcome: str
    by: str  # the acting staff member's username
    reason: str = ""
    message: str = ""
    target: dict[str, Any] = Field(default_factory=dict)
    guards: list[GuardResultPayload] = Field(default_factory=list)


class IdentityPayload(Payload):
    method: str  # VerificationMethod
    # requested | pending | verified | denied | timed_out | failed | refused
    result: str
    by: str
    verification_id: int | None = None
    approval_id: int | None = None
    reason: str = ""
    detail: str = ""
    valid_until: str | None = None
    guards: list[GuardResultPayload] = Field(default_factory=list)


register_payload(EventKind.RECOVERY_ACTION, RecoveryActionPayload)
register_payload(EventKind.IDENTITY_VERIFIED, IdentityPayload)


# A refused attempt did nothing for the caller, so it does not answer the ticket.
_NOT_AN_ANSWER = frozenset({"refused"})


def recovery_event_record(
    *, ticket: Ticket, actor: Staff, payload: RecoveryActionPayload
) -> TicketEvent:
    """The event; an action done, requested or failed by a technician is their answer to the
    ticket ("first answered", when it is the first)."""
    event = ticket_event_record(
        ticket=ticket, kind=EventKind.RECOVERY_ACTION, actor=actor, payload=payload
    )
    if payload.outcome not in _NOT_AN_ANSWER:
        ticket_first_response_mark(ticket=ticket, actor=actor)
    return event


def identity_event_record(*, ticket: Ticket, actor: Staff, payload: IdentityPayload) -> TicketEvent:
    """The event; verifying the caller's identity is a technician's answer too."""
    event = ticket_event_record(
        ticket=ticket, kind=EventKind.IDENTITY_VERIFIED, actor=actor, payload=payload
    )
    if payload.result not in _NOT_AN_ANSWER:
        ticket_first_response_mark(ticket=ticket, actor=actor)
    return event
