"""Corrections to what the directory records about an end user's setup, when enrollment
stopped because a record is wrong or missing rather than anything on the caller's side:

- token_serial_correct: a hardware token registered under a mistyped serial gets the serial
  printed on its back and is assigned (hardware tokens need no activation by the end user);
- contact_number_add: a mobile or phone number the enrolled method needs, missing from the
  directory, is added from what the caller says. An existing number is never overwritten.

Both are sensitive (identity verified on the ticket, second approver for a privileged end
user) and go through enrollment.services.guards like every recovery action.
"""

from __future__ import annotations

import re

from enrollment.enums import AuthenticatorStatus, EnrollmentStage, Method, UserStatus
from enrollment.models import Authenticator, EndUser, Enrollment
from enrollment.services.guards import GuardContext, RecoveryRefused, guarded_run
from enrollment.services.recovery import _authenticator_of
from helpdesk.models import Staff, Ticket
from helpdesk.redaction import masked_number

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Serials as vendors print them: letters, digits and dashes.
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,63}$")
CONTACT_ATTRIBUTES = ("mobile", "phone")


def normalise_number(raw: str) -> str:
    """ "+1 (415) 555-0112" -> "+14155550112": spaces, dashes, dots and brackets dropped."""
    return re.sub(r"[\s().-]", "", raw or "")


def _complete_enrollment(end_user: EndUser, authenticator: Authenticator, now) -> None:
    enrollment = (
        Enrollment.objects.select_for_update()
        .filter(end_user=end_user)
        .order_by("-started_at", "-id")
        .first()
    )
    if enrollment is not None:
        enrollment.authenticator = authenticator
        enrollment.stage = EnrollmentStage.ACTIVATED
        enrollment.error = None
        enrollment.completed_at = now
        enrollment.save()
    if end_user.status == UserStatus.PENDING_ENROLLMENT:
        end_user.status = UserStatus.ACTIVE
        end_user.save(update_fields=["status", "updated_at"])


def token_serial_correct(
    *, actor: Staff, ticket: Ticket, reason: str, authenticator_id: int, serial: str
) -> Authenticator:
    """Registers the end user's hardware token under the serial the caller reads off its
    back, and assigns it (active) so its codes are checked against the right token.

    Sensitive action. Side effects: the authenticator's serial and status, the enrollment
    completed, one event, the end user notified. Raises PermissionDenied, Http404,
    RecoveryRefused (not a hardware token, a malformed serial, the same serial as recorded,
    or a serial already registered to another live authenticator)."""
    serial = (serial or "").strip().upper()

    def perform(ctx: GuardContext) -> Authenticator:
        authenticator = _authenticator_of(ctx, authenticator_id)
        if authenticator.method != Method.HOTP_TOKEN:
            raise RecoveryRefused(
                f"{authenticator} is not a hardware token; only tokens have a serial.",
                guard="authenticator_is_hardware_token",
            )
        if authenticator.status == AuthenticatorStatus.REVOKED:
            raise RecoveryRefused(f"{authenticator} is revoked.", guard="authenticator_live")
        if not SERIAL.match(serial):
            raise RecoveryRefused(
                "Enter the serial printed on the back of the token (letters, digits and dashes).",
                guard="token_serial",
            )
        if serial == (authenticator.serial or "").upper():
            raise RecoveryRefused(
                f"The token is already registered under {serial}; the serial is not the problem.",
                guard="token_serial_changed",
            )
        taken = (
            Authenticator.objects.filter(serial__iexact=serial)
            .exclude(pk=authenticator.pk)
            .exclude(status=AuthenticatorStatus.REVOKED)
            .exists()
        )
        if taken:
            raise RecoveryRefused(
                f"Serial {serial} is registered to another authenticator; Tier 2 must find "
                "out which token is whose.",
                guard="token_serial_unique",
            )
        previous = authenticator.serial
        authenticator.serial = serial
        authenticator.failure_count = 0
        if authenticator.status == AuthenticatorStatus.PENDING_ACTIVATION:
            authenticator.status = AuthenticatorStatus.ACTIVE
            authenticator.activated_at = ctx.now
        authenticator.save(update_fields=["serial", "failure_count", "status", "activated_at"])
        _complete_enrollment(ctx.end_user, authenticator, ctx.now)
        ctx.target.update({"previous_serial": previous, "serial": serial})
        ctx.message = f"{authenticator} registered under serial {serial} (was {previous})."
        return authenticator

    return guarded_run(
        "token_serial_correct",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"authenticator_id": authenticator_id},
        perform=perform,
    )


def contact_number_add(
    *, actor: Staff, ticket: Ticket, reason: str, attribute: str, number: str
) -> EndUser:
    """Adds the mobile or phone number the caller gives to a directory record that has
    none, so the text-message or call method enrolled can reach them.

    Sensitive action (the number becomes one identity callbacks may use). Side effects: the
    attribute, one event (the number masked), the end user notified by email. Raises
    PermissionDenied, Http404, RecoveryRefused (an unknown attribute, a number not in
    international form, or a number already on record: changing one is the directory
    owner's work, never the helpdesk's)."""
    number = normalise_number(number)

    def perform(ctx: GuardContext) -> EndUser:
        end_user = ctx.end_user
        if attribute not in CONTACT_ATTRIBUTES:
            raise RecoveryRefused(
                f"Only a {' or '.join(CONTACT_ATTRIBUTES)} number can be added.",
                guard="contact_attribute",
            )
        current = getattr(end_user, attribute).strip()
        if current:
            raise RecoveryRefused(
                f"The directory already has a {attribute} number ({masked_number(current)}); "
                "changing a number of record goes to the directory owner.",
                guard="contact_attribute_missing",
            )
        if not E164.match(number):
            raise RecoveryRefused(
                "Enter the number in international form: a plus, the country code and the "
                "number, for example +14155550123.",
                guard="contact_number_format",
            )
        setattr(end_user, attribute, number)
        end_user.save(update_fields=[attribute, "updated_at"])
        ctx.target.update({"attribute": attribute, "number": masked_number(number)})
        ctx.message = (
            f"{attribute.capitalize()} number {masked_number(number)} added to the directory."
        )
        return end_user

    return guarded_run(
        "contact_number_add",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"attribute": attribute},
        perform=perform,
    )
