"""Recovery actions on an end user's MFA, each behind the guards of
enrollment.services.guards and recorded on the ticket it was done for.

Every function takes keyword-only `actor`, `ticket` and `reason` (plus the object it acts
on), acts on the ticket's end user only, and raises PermissionDenied (role), Http404 (unit,
or an object that is not the ticket end user's) or RecoveryRefused (a guard or the action's
own precondition, with a message for the technician; the refusal is recorded). Calls that
change the MFA service happen inside the action's transaction, before the directory is
changed: a service that fails (ServiceUnavailable, or its own policy refusing) undoes the
action and the refusal is recorded, naming the operation. Sending activations and
notifications happens after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F
from django.http import Http404

from enrollment.enums import AuthenticatorStatus, EnrollmentStage, Method, Platform, UserStatus
from enrollment.mfa import ResyncResult, get_mfa_service
from enrollment.models import (
    ActivationLink,
    Authenticator,
    Device,
    EndUser,
    Enrollment,
    EnrollmentLink,
)
from enrollment.policy import effective_policy
from enrollment.services.guards import GuardContext, RecoveryRefused, guarded_run
from enrollment.services.links import (
    ActivationLinkStillValid,
    EnrollmentLinkExpired,
    activation_link_issue,
    enrollment_link_issue,
    enrollment_link_resend,
)
from helpdesk.models import Staff, Ticket

LIVE = (AuthenticatorStatus.ACTIVE, AuthenticatorStatus.PENDING_ACTIVATION)


@dataclass(frozen=True)
class ReEnrollment:
    enrollment_id: int
    authenticator_id: int
    activation_expires_at: datetime
    retired: tuple[int, ...]


def _authenticator_of(ctx: GuardContext, authenticator_id: int) -> Authenticator:
    found = (
        Authenticator.objects.select_for_update()
        .filter(pk=authenticator_id, end_user=ctx.end_user)
        .first()
    )
    if found is None:
        raise Http404("No such authenticator for this end user.")
    return found


def _reset_on_service(authenticator_ids: list[int]) -> None:
    """Has the MFA service forget the authenticators now, inside the action's transaction:
    when it fails, the action is undone and the refusal recorded (guarded_run), so the
    directory never claims a reset the service did not make."""
    service = get_mfa_service()
    for pk in authenticator_ids:
        service.reset_authenticator(authenticator_id=pk)


def _disable_on_service(authenticator_ids: list[int]) -> None:
    """Stops the service accepting the authenticators (a service that cannot disable one
    forgets it instead), inside the action's transaction like _reset_on_service."""
    service = get_mfa_service()
    for pk in authenticator_ids:
        service.disable_authenticator(authenticator_id=pk)


def _send_fresh_activation(authenticator: Authenticator) -> ActivationLink | None:
    """A new activation unless an unexpired one is already on its way."""
    try:
        return activation_link_issue(authenticator=authenticator)
    except ActivationLinkStillValid:
        return None


def end_user_re_enroll(*, actor: Staff, ticket: Ticket, reason: str) -> ReEnrollment:
    """Starts over: retires (revokes) every live authenticator, starts a new enrollment with
    a new pending authenticator of the policy's default method, and sends its activation.

    Sensitive action (identity, second approver for privileged users …). Side effects:
    authenticators revoked, a new Authenticator, Enrollment and ActivationLink, the user's
    status pending_enrollment (unless in bypass or disabled), one event; after commit the
    service forgets the old registrations, sends the activation, and the end user is
    notified. Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> ReEnrollment:
        end_user = ctx.end_user
        if end_user.status == UserStatus.DISABLED:
            raise RecoveryRefused(
                f"{end_user.username} is disabled; an administrator must enable them first.",
                guard="end_user_disabled",
            )
        retired = list(end_user.authenticators.filter(status__in=LIVE).values_list("pk", flat=True))
        Authenticator.objects.filter(pk__in=retired).update(status=AuthenticatorStatus.REVOKED)
        method = effective_policy(end_user, None).default_method.value or Method.PUSH
        if method not in (Method.PUSH, Method.TOTP):
            method = Method.PUSH  # only app-based methods are activated by a link
        # The app is activated on a phone: bind the new authenticator to the one the user
        # still holds (most recently seen), so activating it there completes enrollment.
        phone = (
            Device.objects.filter(
                end_user=end_user,
                platform__in=(Platform.IOS, Platform.ANDROID),
                lost_at__isnull=True,
            )
            .order_by(F("last_seen_at").desc(nulls_last=True), "-pk")
            .first()
        )
        authenticator = Authenticator.objects.create(
            end_user=end_user,
            method=method,
            device=phone,
            status=AuthenticatorStatus.PENDING_ACTIVATION,
            name=f"{Method(method).label} (re-enrolled {ctx.now:%Y-%m-%d})",
        )
        enrollment = Enrollment.objects.create(
            end_user=end_user,
            authenticator=authenticator,
            stage=EnrollmentStage.INVITED,
            started_at=ctx.now,
        )
        link = activation_link_issue(authenticator=authenticator)
        if end_user.status not in (UserStatus.BYPASS, UserStatus.DISABLED):
            end_user.status = UserStatus.PENDING_ENROLLMENT
            end_user.save(update_fields=["status", "updated_at"])
        _reset_on_service(retired)
        ctx.target.update(
            retired_authenticator_ids=retired,
            authenticator_id=authenticator.pk,
            enrollment_id=enrollment.pk,
            activation_expires_at=link.expires_at.isoformat(),
        )
        ctx.message = (
            f"{len(retired)} authenticator(s) retired; activation sent, valid until "
            f"{link.expires_at:%Y-%m-%d %H:%M} UTC."
        )
        return ReEnrollment(enrollment.pk, authenticator.pk, link.expires_at, tuple(retired))

    return guarded_run(
        "end_user_re_enroll", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


def enrollment_email_resend(*, actor: Staff, ticket: Ticket, reason: str) -> EnrollmentLink:
    """Sends the enrollment email again. The latest link keeps its original enroll-by date;
    when there is none or it has expired, a new link (a fresh 30 days) is issued instead.

    Routine action (no identity check: it goes to the address of record). Side effects:
    the link's sent count, one event; after commit the service emails it and the end user
    is notified. Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> EnrollmentLink:
        link = EnrollmentLink.objects.filter(end_user=ctx.end_user).order_by("-created_at").first()
        renewed = False
        try:
            if link is None:
                raise EnrollmentLinkExpired(ctx.now)
            link = enrollment_link_resend(link=link)
        except EnrollmentLinkExpired:
            link = enrollment_link_issue(end_user=ctx.end_user)
            renewed = True
        ctx.target.update(
            enrollment_link_id=link.pk, enroll_by=link.enroll_by.isoformat(), new_link=renewed
        )
        ctx.message = (
            f"{'New enrollment link' if renewed else 'Enrollment email'} sent; enroll by "
            f"{link.enroll_by:%Y-%m-%d %H:%M} UTC."
        )
        return link

    return guarded_run(
        "enrollment_email_resend", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


def activation_resend(
    *, actor: Staff, ticket: Ticket, reason: str, authenticator_id: int
) -> ActivationLink:
    """Sends a new activation for a pending authenticator. Refused while an unexpired one
    exists, saying when it expires.

    Routine action. Side effects: an ActivationLink, one event; after commit the service
    sends the activation. Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> ActivationLink:
        authenticator = _authenticator_of(ctx, authenticator_id)
        ctx.target["authenticator_id"] = authenticator.pk
        if authenticator.status != AuthenticatorStatus.PENDING_ACTIVATION:
            raise RecoveryRefused(
                f"{authenticator} is {authenticator.get_status_display().lower()}, not "
                "waiting for activation; reset it first.",
                guard="authenticator_pending",
            )
        try:
            link = activation_link_issue(authenticator=authenticator)
        except ActivationLinkStillValid as still:
            raise RecoveryRefused(
                f"{still} Ask the user to use that one; a new one can be sent after it expires.",
                guard="activation_unexpired",
            ) from None
        ctx.target["activation_expires_at"] = link.expires_at.isoformat()
        ctx.message = f"Activation sent, valid until {link.expires_at:%Y-%m-%d %H:%M} UTC."
        return link

    return guarded_run(
        "activation_resend",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"authenticator_id": authenticator_id},
        perform=perform,
    )


def _reset(ctx: GuardContext, authenticators: list[Authenticator]) -> list[int]:
    ids = [a.pk for a in authenticators]
    Authenticator.objects.filter(pk__in=ids).update(
        status=AuthenticatorStatus.PENDING_ACTIVATION, activated_at=None, failure_count=0
    )
    for authenticator in authenticators:
        authenticator.status = AuthenticatorStatus.PENDING_ACTIVATION
        _send_fresh_activation(authenticator)
    _reset_on_service(ids)
    if (
        ctx.end_user.status == UserStatus.ACTIVE
        and not ctx.end_user.authenticators.filter(status=AuthenticatorStatus.ACTIVE).exists()
    ):
        ctx.end_user.status = UserStatus.PENDING_ENROLLMENT
        ctx.end_user.save(update_fields=["status", "updated_at"])
    return ids


def authenticator_reset(
    *, actor: Staff, ticket: Ticket, reason: str, authenticator_id: int
) -> Authenticator:
    """Resets one authenticator: the service forgets its registration and secret, it goes
    back to pending activation and a new activation is sent.

    Sensitive action. Side effects: the authenticator's status, an activation link, one
    event; after commit the service resets it and sends the activation, and the end user is
    notified. Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> Authenticator:
        authenticator = _authenticator_of(ctx, authenticator_id)
        if authenticator.status not in (AuthenticatorStatus.ACTIVE, AuthenticatorStatus.DISABLED):
            raise RecoveryRefused(
                f"{authenticator} is {authenticator.get_status_display().lower()}; only an "
                "active or disabled authenticator can be reset.",
                guard="authenticator_resettable",
            )
        _reset(ctx, [authenticator])
        ctx.message = f"{authenticator} reset; a new activation was sent."
        authenticator.refresh_from_db()
        return authenticator

    return guarded_run(
        "authenticator_reset",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"authenticator_id": authenticator_id},
        perform=perform,
    )


def authenticators_reset_all(*, actor: Staff, ticket: Ticket, reason: str) -> list[int]:
    """Resets every active or disabled authenticator of the end user at once. Always needs
    a supervisor's second approval. Returns the reset ids.

    Side effects and exceptions: as authenticator_reset, for each authenticator."""

    def perform(ctx: GuardContext) -> list[int]:
        authenticators = list(
            Authenticator.objects.select_for_update().filter(
                end_user=ctx.end_user,
                status__in=(AuthenticatorStatus.ACTIVE, AuthenticatorStatus.DISABLED),
            )
        )
        if not authenticators:
            raise RecoveryRefused(
                f"{ctx.end_user.username} has no active or disabled authenticator to reset.",
                guard="authenticator_resettable",
            )
        ids = _reset(ctx, authenticators)
        ctx.target["authenticator_ids"] = ids
        ctx.message = f"{len(ids)} authenticator(s) reset; new activations were sent."
        return ids

    return guarded_run(
        "authenticators_reset_all", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


def token_resync(
    *,
    actor: Staff,
    ticket: Ticket,
    reason: str,
    authenticator_id: int,
    first_code: str,
    second_code: str,
) -> ResyncResult:
    """Resynchronises a TOTP app or HOTP token from two consecutive codes the caller reads
    out, through the MFA service. The codes are one-time values and are not recorded.

    Routine action. Side effects: the service's drift or counter, one event, the end user
    notified. Raises PermissionDenied, Http404, RecoveryRefused (not a code generator, or the
    service found no match)."""

    def perform(ctx: GuardContext) -> ResyncResult:
        authenticator = _authenticator_of(ctx, authenticator_id)
        if authenticator.method not in (Method.TOTP, Method.HOTP_TOKEN):
            raise RecoveryRefused(
                f"{authenticator} does not generate codes; only TOTP apps and HOTP tokens "
                "can be resynchronised.",
                guard="authenticator_is_token",
            )
        codes = (first_code or "").strip(), (second_code or "").strip()
        if not all(code.isdigit() for code in codes):
            raise RecoveryRefused(
                "Enter the two consecutive codes the token shows, digits only.",
                guard="resync_codes",
            )
        result = get_mfa_service().resync_token(
            authenticator_id=authenticator.pk, first_code=codes[0], second_code=codes[1]
        )
        if not result.ok:
            raise RecoveryRefused(
                f"The MFA service could not match those two codes ({result.reason}). Ask "
                "for two new consecutive codes.",
                guard="resync_match",
            )
        ctx.target["offset_steps"] = result.offset_steps
        ctx.message = f"{authenticator} resynchronised (offset {result.offset_steps} step(s))."
        return result

    return guarded_run(
        "token_resync",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"authenticator_id": authenticator_id},
        perform=perform,
    )


def end_user_unlock(*, actor: Staff, ticket: Ticket, reason: str) -> EndUser:
    """Unlocks a locked-out end user: status back to active (pending_enrollment with no
    active authenticator), failure counts cleared.

    Sensitive action. Side effects: the service clears its invalid-attempt counters
    (unlock_user) first, then status and failure counts, one event; after commit the end user
    is notified.
    Raises PermissionDenied, Http404, RecoveryRefused (also when the user is not locked out).
    """

    def perform(ctx: GuardContext) -> EndUser:
        end_user = ctx.end_user
        if end_user.status != UserStatus.LOCKED_OUT:
            raise RecoveryRefused(
                f"{end_user.username} is not locked out (status: "
                f"{end_user.get_status_display().lower()}).",
                guard="end_user_locked_out",
            )
        # The service first: if it fails, nothing here claims the account is unlocked.
        get_mfa_service().unlock_user(end_user_id=end_user.pk)
        end_user.authenticators.update(failure_count=0)
        enrolled = end_user.authenticators.filter(status=AuthenticatorStatus.ACTIVE).exists()
        end_user.status = UserStatus.ACTIVE if enrolled else UserStatus.PENDING_ENROLLMENT
        end_user.save(update_fields=["status", "updated_at"])
        ctx.target["status"] = end_user.status
        ctx.message = f"{end_user.username} unlocked ({end_user.get_status_display().lower()})."
        return end_user

    return guarded_run(
        "end_user_unlock", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


def device_mark_lost(*, actor: Staff, ticket: Ticket, reason: str, device_id: int) -> Device:
    """Records a device as lost and disables its authenticators, so nothing is sent to it
    and nothing it generates is accepted.

    Protective action (no identity check, allowed with open fraud signals). Side effects:
    the service disables the authenticators (disable_authenticator; the simulator forgets
    them), lost_at, authenticators disabled, one event; after commit the end user is
    notified. Raises PermissionDenied, Http404, RecoveryRefused (already marked lost)."""

    def perform(ctx: GuardContext) -> Device:
        device = (
            Device.objects.select_for_update().filter(pk=device_id, end_user=ctx.end_user).first()
        )
        if device is None:
            raise Http404("No such device for this end user.")
        if device.lost_at is not None:
            raise RecoveryRefused(
                f"{device.name} was already marked lost at {device.lost_at:%Y-%m-%d %H:%M} UTC.",
                guard="device_not_lost",
            )
        device.lost_at = ctx.now
        device.save(update_fields=["lost_at"])
        disabled = list(device.authenticators.filter(status__in=LIVE).values_list("pk", flat=True))
        _disable_on_service(disabled)
        Authenticator.objects.filter(pk__in=disabled).update(status=AuthenticatorStatus.DISABLED)
        ctx.target.update(device_id=device.pk, disabled_authenticator_ids=disabled)
        ctx.message = f"{device.name} marked lost; {len(disabled)} authenticator(s) disabled."
        return device

    return guarded_run(
        "device_mark_lost",
        actor=actor,
        ticket=ticket,
        reason=reason,
        target={"device_id": device_id},
        perform=perform,
    )


# The names troubleshooting.actions gives these actions.
authenticator_resync = token_resync
