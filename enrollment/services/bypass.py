"""Bypass codes: issue, revoke, redeem, and leaving `bypass` status when they run out.

A code is `secrets`-generated digits (BYPASS_CODE_DIGITS, at least 9), returned exactly once
by `bypass_code_issue` for the page that shows it, and never stored, logged, put in a task's
arguments or written to an event. Only a salted hash is kept.

Hash: scrypt (hashlib, standard library) with a random 16-byte salt per code, n=2**14, r=8,
p=1. Chosen over argon2 because it needs no extra dependency in the MFA-service code path
and is memory-hard as well: a ten-digit code has only 10**10 possibilities, so what protects
a leaked hash during its short life is the cost of each guess, and scrypt makes each one
cost ~16 MiB of memory, which defeats cheap GPU batching. Checking compares digests with
hmac.compare_digest (constant time) and checks every candidate code of the user, so the
time taken does not reveal which code matched.

Single use under concurrency: a redemption marks its code used with a conditional UPDATE
(`... WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now`); the database lets
exactly one of any number of concurrent redemptions change the row, and only that one
succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from enrollment import clock, conf
from enrollment.enums import AuthenticatorStatus, UserStatus
from enrollment.mfa import CAPABILITY_SERVICE_BYPASS_CODES, get_mfa_service
from enrollment.models import BypassCode, EndUser
from enrollment.services.events import RecoveryActionPayload, recovery_event_record
from enrollment.services.guards import GuardContext, RecoveryRefused, enforce_access, guarded_run
from helpdesk.enums import EventKind
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.roles import Capability

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
_PREFIX = "scrypt"


@dataclass(frozen=True)
class BypassIssue:
    """What issuing returns: the codes themselves (show them once, keep them nowhere), when
    they expire and their record ids."""

    codes: tuple[str, ...]
    expires_at: datetime
    code_ids: tuple[int, ...]

    def __repr__(self) -> str:
        # Keep the codes out of tracebacks, debug pages and log lines that format this.
        return f"BypassIssue(codes=<{len(self.codes)} hidden>, expires_at={self.expires_at!r})"


def _derive(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        code.encode(), salt=salt, n=n, r=r, p=p, dklen=SCRYPT_DKLEN, maxmem=64 * 1024 * 1024
    )


def bypass_code_hash(code: str) -> str:
    """A salted scrypt hash of `code`, self-describing: scrypt$n$r$p$salt$digest."""
    salt = secrets.token_bytes(16)
    digest = _derive(code, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"{_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def bypass_code_matches(code: str, stored: str) -> bool:
    """Whether `code` hashes to `stored`, compared in constant time."""
    try:
        prefix, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if prefix != _PREFIX:
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = _derive(code, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _generate() -> str:
    digits = conf.bypass_code_digits()
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def _mint(end_user_id: int, count: int, expires_at: datetime) -> tuple[str, ...]:
    """The codes: minted by the MFA service when it accepts codes of its own at sign-in
    (privacyIDEA's registration tokens, single use, valid until `expires_at`), otherwise
    generated here for the service to check against the directory's hashes."""
    service = get_mfa_service()
    if service.supports(CAPABILITY_SERVICE_BYPASS_CODES):
        return tuple(
            service.issue_bypass_code(end_user_id=end_user_id, expires_at=expires_at)
            for _ in range(count)
        )
    return tuple(_generate() for _ in range(count))


def _normalise(code: str) -> str:
    # People read codes out in groups; spaces and dashes are not part of the code.
    return "".join(ch for ch in code if ch not in " -\t")


def _usable(end_user_id: int, now: datetime):
    return BypassCode.objects.filter(
        end_user_id=end_user_id,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )


def _status_after_bypass(end_user: EndUser) -> str:
    enrolled = end_user.authenticators.filter(status=AuthenticatorStatus.ACTIVE).exists()
    return UserStatus.ACTIVE if enrolled else UserStatus.PENDING_ENROLLMENT


def _leave_bypass_if_exhausted(end_user: EndUser, now: datetime) -> bool:
    """With the end user's row locked: out of `bypass` once no usable code is left."""
    if end_user.status != UserStatus.BYPASS or _usable(end_user.pk, now).exists():
        return False
    end_user.status = _status_after_bypass(end_user)
    end_user.save(update_fields=["status", "updated_at"])
    return True


def bypass_code_issue(
    *,
    actor: Staff,
    ticket: Ticket,
    reason: str,
    count: int = 1,
    valid_minutes: int | None = None,
) -> BypassIssue:
    """Issues `count` single-use bypass codes for the ticket's end user, valid for
    `valid_minutes` (default BYPASS_CODE_MINUTES, 60), and puts the user in `bypass` status.

    Guards: every sensitive-action guard (enrollment.services.guards), then the caps: at most
    BYPASS_CODES_PER_ISSUE_MAX per issue, BYPASS_CODE_MAX_MINUTES lifetime and
    BYPASS_CODES_ACTIVE_MAX usable codes per user. Side effects: BypassCode rows (hashes
    only), the user's status, a recovery.action event (no code in it); after commit the MFA
    service is told (register_bypass_codes_changed) and the end user notified by email.
    Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> BypassIssue:
        end_user = ctx.end_user
        lifetime = timedelta(minutes=valid_minutes) if valid_minutes else None
        lifetime = lifetime or conf.bypass_code_lifetime_default()
        most = conf.bypass_codes_per_issue_max()
        if not 1 <= count <= most:
            raise RecoveryRefused(
                f"Issue between 1 and {most} codes at a time.", guard="bypass_code_count"
            )
        longest = conf.bypass_code_lifetime_max()
        if not timedelta(minutes=1) <= lifetime <= longest:
            raise RecoveryRefused(
                f"A bypass code may live between 1 and {int(longest.total_seconds() // 60)} "
                "minutes.",
                guard="bypass_code_lifetime",
            )
        if end_user.status == UserStatus.DISABLED:
            raise RecoveryRefused(
                f"{end_user.username} is disabled; a bypass code would not let them in.",
                guard="end_user_disabled",
            )
        active = _usable(end_user.pk, ctx.now).count()
        cap = conf.bypass_codes_active_max()
        if active + count > cap:
            raise RecoveryRefused(
                f"{end_user.username} already holds {active} usable bypass code(s); at most "
                f"{cap} may be usable at once. Revoke them first or issue fewer.",
                guard="bypass_code_cap",
            )
        expires_at = ctx.now + lifetime
        codes = _mint(end_user.pk, count, expires_at)
        rows = BypassCode.objects.bulk_create(
            [
                BypassCode(
                    end_user=end_user,
                    code_hash=bypass_code_hash(code),
                    created_by=ctx.actor,
                    created_at=ctx.now,
                    expires_at=expires_at,
                    reason=ctx.reason[:300],
                )
                for code in codes
            ]
        )
        ids = tuple(row.pk for row in rows if row.pk is not None)
        if len(ids) != len(rows):  # backends that do not return ids from bulk inserts
            ids = tuple(
                BypassCode.objects.filter(end_user=end_user, created_at=ctx.now)
                .order_by("id")
                .values_list("id", flat=True)
            )
        if end_user.status != UserStatus.BYPASS:
            end_user.status = UserStatus.BYPASS
            end_user.save(update_fields=["status", "updated_at"])
        ctx.target.update(count=count, expires_at=expires_at.isoformat(), bypass_code_ids=list(ids))
        ctx.message = f"{count} bypass code(s) issued, valid until {expires_at:%H:%M} UTC."
        _tell_service_on_commit(end_user.pk)
        return BypassIssue(codes=codes, expires_at=expires_at, code_ids=ids)

    return guarded_run(
        "bypass_code_issue", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


HANDED_OVER = "bypass_codes_handed_over"


def bypass_codes_handed_over(*, actor: Staff, ticket: Ticket) -> TicketEvent:
    """Records on the trail that the technician gave the caller the codes last issued on
    this ticket (read out once; the helpdesk never sees them again).

    Guards: the recovery-actions capability and the administrative unit. Side effects: one
    recovery.action event naming the codes' record ids (never the codes). Raises
    PermissionDenied, Http404, RecoveryRefused (nothing issued on this ticket, or already
    recorded)."""
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").get()
        enforce_access(actor, ticket, Capability.RECOVERY_ACTIONS, lambda results, msg: None)
        events = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RECOVERY_ACTION)
        issued = (
            events.filter(payload__action="bypass_code_issue", payload__outcome="done")
            .order_by("-seq")
            .first()
        )
        if issued is None:
            raise RecoveryRefused("No bypass code was issued on this ticket.", guard="handed_over")
        if events.filter(payload__action=HANDED_OVER, seq__gt=issued.seq).exists():
            raise RecoveryRefused(
                "Already recorded: these codes were given to the caller.", guard="handed_over"
            )
        ids = list((issued.payload.get("target") or {}).get("bypass_code_ids") or [])
        return recovery_event_record(
            ticket=ticket,
            actor=actor,
            payload=RecoveryActionPayload(
                action=HANDED_OVER,
                outcome="done",
                by=actor.username,
                message=f"{len(ids) or 'The'} bypass code(s) given to the caller.",
                target={"bypass_code_ids": ids, "issued_event": issued.seq},
            ),
        )


def bypass_codes_revoke(*, actor: Staff, ticket: Ticket, reason: str) -> int:
    """Revokes every usable bypass code of the ticket's end user and takes them out of
    `bypass` status. Returns how many were revoked.

    Guards: capability, unit, open ticket, reason, not one's own account (a protective
    action: no identity check, not blocked by fraud signals, not rate limited). Side
    effects: revoked_at on the codes, the status, one event; after commit the MFA service is
    told and the end user notified. Raises PermissionDenied, Http404, RecoveryRefused."""

    def perform(ctx: GuardContext) -> int:
        revoked = _usable(ctx.end_user.pk, ctx.now).update(revoked_at=ctx.now)
        _leave_bypass_if_exhausted(ctx.end_user, ctx.now)
        ctx.target["revoked"] = revoked
        ctx.message = f"{revoked} bypass code(s) revoked."
        _tell_service_on_commit(ctx.end_user.pk)
        return revoked

    return guarded_run(
        "bypass_codes_revoke", actor=actor, ticket=ticket, reason=reason, perform=perform
    )


def bypass_code_redeem(*, end_user_id: int, code: str) -> bool:
    """Accepts `code` as a bypass code of the end user, once: the function the MFA service
    (authsim's sign-in) calls when a passcode is typed.

    True exactly when the code matches a usable code (not used, revoked or expired) and this
    call is the one that marked it used; any concurrent redemption of the same code gets
    False. Side effects: used_at on the code; the user leaves `bypass` status when it was
    their last usable code. Never logs the code."""
    candidate = _normalise(code or "")
    if not candidate.isdigit() or len(candidate) > 32:
        return False
    now = clock.now()
    matched = None
    for pk, stored in _usable(end_user_id, now).values_list("pk", "code_hash"):
        # No early exit: every candidate is checked, so timing does not tell which matched.
        if bypass_code_matches(candidate, stored) and matched is None:
            matched = pk
    if matched is None:
        return False
    with transaction.atomic():
        won = (
            BypassCode.objects.filter(
                pk=matched, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
            ).update(used_at=now)
            == 1
        )
        if won:
            end_user = EndUser.objects.select_for_update().get(pk=end_user_id)
            _leave_bypass_if_exhausted(end_user, now)
    return won


def bypass_code_just_spent(*, end_user_id: int, code: str, within: timedelta) -> bool:
    """Whether `code` is one of the end user's bypass codes used in the last `within`: the
    second of two sign-ins racing with the same code (or a replay of it). It is refused
    like any used code, but it is no guess, so it must not count toward the lockout."""
    candidate = _normalise(code or "")
    if not candidate.isdigit() or len(candidate) > 32:
        return False
    now = clock.now()
    spent = BypassCode.objects.filter(
        end_user_id=end_user_id, used_at__isnull=False, used_at__gte=now - within
    ).values_list("code_hash", flat=True)
    found = False
    for stored in spent:
        # No early exit, as in bypass_code_redeem.
        found = bypass_code_matches(candidate, stored) or found
    return found


def bypass_statuses_refresh() -> list[int]:
    """Takes every end user in `bypass` status whose codes have all been used, revoked or
    have expired back to active (pending_enrollment without an active authenticator).
    Returns their ids. Safe to run concurrently: rows another run holds are skipped."""
    now = clock.now()
    changed: list[int] = []
    with transaction.atomic():
        users = (
            EndUser.objects.select_for_update(skip_locked=True)
            .filter(status=UserStatus.BYPASS)
            .exclude(
                pk__in=BypassCode.objects.filter(
                    Q(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
                ).values("end_user_id")
            )
        )
        for end_user in users:
            if _leave_bypass_if_exhausted(end_user, now):
                changed.append(end_user.pk)
    return changed


def _tell_service_on_commit(end_user_id: int) -> None:
    transaction.on_commit(
        lambda: get_mfa_service().register_bypass_codes_changed(end_user_id=end_user_id)
    )
