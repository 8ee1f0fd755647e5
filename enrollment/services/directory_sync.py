"""The directory follows the MFA service: its users and tokens imported as end users and
authenticators, keyed by the service's own identifiers (EndUser.service_id, Authenticator.serial).

Only services that own the directory (CAPABILITY_DIRECTORY_SYNC: privacyIDEA) are synced; the
simulator's directory is the helpdesk's own. A sync is idempotent: a second run with nothing
changed on the service changes nothing here and reports no change.

What the service says wins for what it knows (names, contact attributes, token states, fail
counters); what only the helpdesk knows (groups, the privileged flag, bypass status while a
code is usable, a disabled account, a device marked lost) is kept.

Status: no live token -> pending_enrollment; every active token at its fail-counter limit ->
locked_out; otherwise active. A token the service no longer has is revoked here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction

from enrollment import clock
from enrollment.enums import AuthenticatorStatus, Method, Platform, UserStatus
from enrollment.mfa import (
    CAPABILITY_DIRECTORY_SYNC,
    MFAService,
    NotSupported,
    ServiceToken,
    ServiceUser,
    get_mfa_service,
    not_reported_reason,
)
from enrollment.models import Authenticator, BypassCode, Device, EndUser
from helpdesk.enums import EventKind
from helpdesk.models import Staff
from helpdesk.roles import Capability
from helpdesk.services.audit import Payload, audit_event_record, register_payload

AUDIT_STREAM = "admin"

# Statuses the helpdesk decides, which a sync never overrides.
_KEPT_STATUSES = (UserStatus.DISABLED,)


class DirectorySyncedPayload(Payload):
    scope: str  # "all" | "end_user"
    by: str  # the staff member's username, or "schedule"
    users_created: int
    users_updated: int
    authenticators_created: int
    authenticators_updated: int
    authenticators_revoked: int
    changes: list[str]


register_payload(EventKind.DIRECTORY_SYNCED, DirectorySyncedPayload)


@dataclass
class SyncReport:
    users_created: int = 0
    users_updated: int = 0
    authenticators_created: int = 0
    authenticators_updated: int = 0
    authenticators_revoked: int = 0
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        if not self.changed:
            return "The directory already matched the MFA service; nothing changed."
        return (
            f"{self.users_created} end user(s) added, {self.users_updated} updated; "
            f"{self.authenticators_created} authenticator(s) added, "
            f"{self.authenticators_updated} updated, {self.authenticators_revoked} revoked."
        )


def _require(service: MFAService) -> None:
    if not service.supports(CAPABILITY_DIRECTORY_SYNC):
        raise NotSupported(not_reported_reason(CAPABILITY_DIRECTORY_SYNC))


def _status(end_user: EndUser, tokens: tuple[ServiceToken, ...]) -> str:
    if end_user.status in _KEPT_STATUSES:
        return end_user.status
    live = [t for t in tokens if t.status != AuthenticatorStatus.REVOKED]
    active = [t for t in live if t.status == AuthenticatorStatus.ACTIVE]
    if not live or (not active and all(t.status == "pending_activation" for t in live)):
        return UserStatus.PENDING_ENROLLMENT
    if active and all(t.locked for t in active):
        return UserStatus.LOCKED_OUT
    if (
        end_user.status == UserStatus.BYPASS
        and BypassCode.objects.filter(
            end_user=end_user,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=clock.now(),
        ).exists()
    ):
        return UserStatus.BYPASS
    return UserStatus.ACTIVE


def _apply_user(report: SyncReport, remote: ServiceUser) -> EndUser:
    """Creates or updates one end user and their authenticators. Runs inside a transaction."""
    end_user = EndUser.objects.select_for_update().filter(service_id=remote.service_id).first()
    if end_user is None:
        # Adopt a directory row of the same username that no service owns yet.
        end_user = (
            EndUser.objects.select_for_update()
            .filter(username=remote.username, service_id__isnull=True)
            .first()
        )
    created = end_user is None
    if created:
        end_user = EndUser(username=remote.username, service_id=remote.service_id)
    fields = {
        "service_id": remote.service_id,
        "full_name": remote.full_name,
        "email": remote.email,
        "mobile": remote.mobile,
        "phone": remote.phone,
    }
    changed = [name for name, value in fields.items() if getattr(end_user, name) != value]
    for name in changed:
        setattr(end_user, name, fields[name])
    if created:
        end_user.status = UserStatus.PENDING_ENROLLMENT
        end_user.save()
        report.users_created += 1
        report.changes.append(f"{remote.service_id}: added")
    _apply_tokens(report, end_user, remote.tokens)
    status = _status(end_user, remote.tokens)
    if status != end_user.status:
        report.changes.append(f"{remote.service_id}: status {end_user.status} -> {status}")
        end_user.status = status
        changed.append("status")
    if changed and not created:
        end_user.save()
        report.users_updated += 1
        if set(changed) - {"status"}:
            report.changes.append(
                f"{remote.service_id}: {', '.join(sorted(set(changed) - {'status'}))} updated"
            )
    elif changed:
        end_user.save()
    return end_user


def _device(end_user: EndUser, name: str) -> Device | None:
    """The device a token's description names (privacyIDEA does not describe devices)."""
    if not name:
        return None
    device = Device.objects.filter(end_user=end_user, name=name).order_by("pk").first()
    if device is None:
        device = Device.objects.create(end_user=end_user, name=name, platform=Platform.UNREPORTED)
    return device


def _apply_tokens(report: SyncReport, end_user: EndUser, tokens: tuple[ServiceToken, ...]) -> None:
    now = clock.now()
    known = {
        a.serial: a
        for a in Authenticator.objects.select_for_update()
        .filter(end_user=end_user, serial__isnull=False)
        .exclude(status=AuthenticatorStatus.REVOKED)
    }
    seen = set()
    for token in tokens:
        seen.add(token.serial)
        row = known.get(token.serial)
        device = _device(end_user, token.description)
        if row is not None and row.device is not None and row.device.lost_at is not None:
            # A device marked lost keeps its tokens disabled whatever the service says.
            wanted_status = (
                token.status
                if token.status != AuthenticatorStatus.ACTIVE
                else AuthenticatorStatus.DISABLED
            )
        else:
            wanted_status = token.status
        values = {
            "method": token.method,
            "status": wanted_status,
            "name": token.description or token.serial,
            "failure_count": token.failcount,
            "device": device if row is None or row.device is None else row.device,
        }
        if row is None:
            # A re-enrollment the helpdesk started waits as a pending authenticator with no
            # serial; the token the end user then enrols at the service is that one.
            row = (
                Authenticator.objects.select_for_update()
                .filter(
                    end_user=end_user,
                    serial__isnull=True,
                    # An app enrolment the helpdesk started as "push" is an app code here.
                    method__in={token.method, Method.PUSH}
                    if token.method == Method.TOTP
                    else {token.method},
                    status=AuthenticatorStatus.PENDING_ACTIVATION,
                )
                .order_by("-created_at", "-pk")
                .first()
            )
            if row is not None:
                row.serial = token.serial
                row.save(update_fields=["serial"])
                values["device"] = row.device or device
        if row is None:
            Authenticator.objects.create(
                end_user=end_user,
                serial=token.serial,
                activated_at=now if wanted_status == AuthenticatorStatus.ACTIVE else None,
                **values,
            )
            report.authenticators_created += 1
            report.changes.append(f"{end_user.service_id}: token {token.serial} added")
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if not changed:
            continue
        for name in changed:
            setattr(row, name, values[name])
        if "status" in changed and wanted_status == AuthenticatorStatus.ACTIVE:
            row.activated_at = row.activated_at or now
        row.save()
        report.authenticators_updated += 1
        report.changes.append(
            f"{end_user.service_id}: token {token.serial} {', '.join(sorted(changed))} updated"
        )
    gone = [row for serial, row in known.items() if serial not in seen]
    for row in gone:
        row.status = AuthenticatorStatus.REVOKED
        row.save(update_fields=["status"])
        report.authenticators_revoked += 1
        report.changes.append(f"{end_user.service_id}: token {row.serial} no longer exists")


def _record(report: SyncReport, *, scope: str, actor: Staff | None, end_user_id: int | None):
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.DIRECTORY_SYNCED,
        actor=actor,
        end_user_id=end_user_id,
        payload=DirectorySyncedPayload(
            scope=scope,
            by=actor.username if actor else "schedule",
            users_created=report.users_created,
            users_updated=report.users_updated,
            authenticators_created=report.authenticators_created,
            authenticators_updated=report.authenticators_updated,
            authenticators_revoked=report.authenticators_revoked,
            changes=report.changes[:200],
        ),
    )


def directory_sync(*, actor: Staff | None = None, service: MFAService | None = None) -> SyncReport:
    """Imports every user of the service's realms and their tokens (the sync_directory
    command and the beat job; `actor` None for the schedule).

    Side effects: end users and authenticators created or updated, tokens the service no
    longer has revoked, one admin.directory_synced event when anything changed, all in one
    transaction. Raises NotSupported (the service owns no directory), PermissionDenied (an
    actor without manage_end_users), and the port's errors when the service fails (nothing
    is changed then)."""
    if actor is not None and not actor.has_capability(Capability.MANAGE_END_USERS):
        raise PermissionDenied("Syncing the directory needs the manage_end_users capability.")
    service = service or get_mfa_service()
    _require(service)
    remote_users = service.directory_users()  # before the transaction: no lock held on I/O
    report = SyncReport()
    with transaction.atomic():
        for remote in remote_users:
            _apply_user(report, remote)
        if report.changed:
            _record(report, scope="all", actor=actor, end_user_id=None)
    return report


def end_user_sync(
    *, end_user: EndUser, actor: Staff | None = None, service: MFAService | None = None
) -> SyncReport:
    """Refreshes one end user from the service (the end-user page's button, and after every
    recovery action, so the directory shows the action at once). Does nothing for services
    that own no directory. Side effects and exceptions as directory_sync, for one user; an
    end user the service no longer knows keeps their row, their tokens revoked."""
    service = service or get_mfa_service()
    if not service.supports(CAPABILITY_DIRECTORY_SYNC):
        return SyncReport()
    if actor is not None and not actor.has_capability(Capability.WORK_TICKETS):
        raise PermissionDenied("Refreshing an end user needs the work_tickets capability.")
    remote = service.directory_user(end_user_id=end_user.pk)
    report = SyncReport()
    with transaction.atomic():
        if remote is None:
            _apply_tokens(report, end_user, ())
        else:
            _apply_user(report, remote)
        if report.changed:
            _record(report, scope="end_user", actor=actor, end_user_id=end_user.pk)
    return report
