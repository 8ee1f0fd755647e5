"""Staff accounts and administrative units: creating staff, changing roles, binding units,
deactivating, and editing units.

Every write checks the actor first (MANAGE_STAFF, and the shared rank rule in
helpdesk.permissions), then writes its change and one event on the "admin" audit stream
in the same transaction, with the old and new value of what changed.

Rules beyond the capability:
- a role is given only if helpdesk.permissions.can_assign_role allows it (an owner any
  role; anyone else only roles strictly below their own);
- a staff member is changed only if can_manage_staff_member allows it (an owner anyone;
  anyone else only staff strictly below their own rank, never themselves, and — when
  bound to units — only staff bound within those units);
- a unit-bound actor binds staff only to one or more of their own units (never to none,
  which would make them unrestricted) and puts only their own units' groups in a unit;
- nobody changes their own role, owners included (another owner must);
- nobody deactivates themselves, and the last active owner is never deactivated.

Every refusal by these rules is itself an "admin.staff_changed" event (action "refused",
with what was attempted), written before the PermissionDenied is raised, so an attempt to
leave one's unit or outrank oneself shows on the admin stream.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from pydantic import Field, model_serializer

from enrollment.models import Group
from helpdesk.enums import EventKind
from helpdesk.models import AdministrativeUnit, Staff, StaffSetupLink
from helpdesk.permissions import (
    can_assign_role,
    can_manage_staff_member,
    groups_within_reach,
    units_within_reach,
)
from helpdesk.roles import Capability, Role
from helpdesk.services.audit import Payload, audit_event_record, register_payload
from helpdesk.services.staff_setup import setup_link_issue

AUDIT_STREAM = "admin"


class StaffChange(Payload):
    old: Any = None
    new: Any = None


class StaffChangedPayload(Payload):
    # created | role_changed | units_changed | deactivated | unit_created | unit_updated
    # | refused
    action: str
    subject: str  # "staff" or "unit"
    target_id: int | None  # None: a refused creation
    target: str  # username or unit name at the time, so the trail reads on its own
    by: str
    changes: dict[str, StaffChange] = Field(default_factory=dict)
    # For a refusal: what was attempted (e.g. "units_changed") and the message shown.
    attempted: str = ""
    refusal: str = ""

    @model_serializer(mode="wrap")
    def _only_refusals_carry_refusal_keys(self, handler):
        # Changes that went through keep the payload shape they always had.
        data = handler(self)
        if not self.attempted and not self.refusal:
            data.pop("attempted", None)
            data.pop("refusal", None)
        return data


register_payload(EventKind.STAFF_CHANGED, StaffChangedPayload)


@dataclass(frozen=True)
class StaffCreated:
    staff: Staff
    # The one-time set-up link emailed to the new staff member (its token only in the mail).
    setup_link: StaffSetupLink


def _record(
    actor: Staff,
    *,
    action: str,
    subject: str,
    target_id: int | None,
    target: str,
    changes: dict[str, tuple[Any, Any]],
    attempted: str = "",
    refusal: str = "",
) -> None:
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.STAFF_CHANGED,
        actor=actor,
        payload=StaffChangedPayload(
            action=action,
            subject=subject,
            target_id=target_id,
            target=target,
            by=actor.username,
            changes={
                key: StaffChange(old=old, new=new) for key, (old, new) in sorted(changes.items())
            },
            attempted=attempted,
            refusal=refusal,
        ),
    )


@dataclass(frozen=True)
class _Attempt:
    """What a service was asked to do, for the refusal event if a rule says no."""

    action: str
    subject: str
    target_id: int | None
    target: str
    changes: dict[str, tuple[Any, Any]]


class StaffRuleRefused(PermissionDenied):
    """A staff or unit rule said no (already recorded on the admin stream). `field` names
    the form field at fault ("role", "units", "groups"), or None when the target itself is
    out of the actor's reach."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _refuse(actor: Staff, attempt: _Attempt, message: str, field: str | None = None) -> None:
    """Records the refusal on the admin stream (committed on its own, so it survives the
    exception) and raises StaffRuleRefused(message). Call it outside the service's own
    transaction."""
    with transaction.atomic():
        _record(
            actor,
            action="refused",
            subject=attempt.subject,
            target_id=attempt.target_id,
            target=attempt.target,
            changes=attempt.changes,
            attempted=attempt.action,
            refusal=message,
        )
    raise StaffRuleRefused(message, field=field)


RANK_REFUSAL = (
    "Only an owner changes their own account or staff at or above their own rank; staff bound "
    "to units change only staff bound within their units."
)
UNITS_REFUSAL = (
    "You are bound to administrative units: choose one or more of your own units (staff in no "
    "unit would see every end user)."
)
GROUPS_REFUSAL = "You are bound to administrative units: choose only groups of your own units."


def _require_manage_staff(actor: Staff) -> None:
    if not actor.has_capability(Capability.MANAGE_STAFF):
        raise PermissionDenied("Managing staff needs the manage-staff capability.")


def _require_may_change(actor: Staff, target: Staff, attempt: _Attempt | None = None) -> None:
    _require_manage_staff(actor)
    if not can_manage_staff_member(actor, target):
        if attempt is not None:
            _refuse(actor, attempt, RANK_REFUSAL)
        raise PermissionDenied(RANK_REFUSAL)


def _require_may_assign(actor: Staff, role: str, attempt: _Attempt | None = None) -> None:
    if role not in Role.values:
        raise ValidationError({"role": "Choose one of the roles."})
    if not can_assign_role(actor, role):
        message = (
            f"You cannot give the role {Role(role).label}: only an owner gives a role at or "
            "above their own."
        )
        if attempt is not None:
            _refuse(actor, attempt, message, "role")
        raise StaffRuleRefused(message, field="role")


def _require_units_within_reach(
    actor: Staff, units: list[AdministrativeUnit], attempt: _Attempt
) -> None:
    if not units_within_reach(actor, units):
        _refuse(actor, attempt, UNITS_REFUSAL, "units")


def _require_groups_within_reach(actor: Staff, group_ids: set[int], attempt: _Attempt) -> None:
    if not groups_within_reach(actor, group_ids):
        _refuse(actor, attempt, GROUPS_REFUSAL, "groups")


def _unit_names(units: list[AdministrativeUnit] | Any) -> list[str]:
    return sorted(unit.name for unit in units)


def staff_create(
    *,
    actor: Staff,
    username: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    units: list[AdministrativeUnit] | None = None,
) -> StaffCreated:
    """Creates an active staff account that nobody can sign in to yet: no usable password,
    no authenticator. The new staff member gets a one-time set-up link by email
    (helpdesk.services.staff_setup) and chooses their password and enrolls their own TOTP
    there, so their creator never knows either.

    Side effects: the Staff row, its unit bindings, the set-up link (emailed after commit by
    a Celery task), an "admin.staff_changed" event (action "created"). Raises
    PermissionDenied without MANAGE_STAFF, for a role the actor may not give or units
    outside a unit-bound actor's own (recorded as refused); ValidationError for a username
    already taken or no email address to send the link to."""
    _require_manage_staff(actor)
    units = list(units or [])
    username = username.strip()
    attempt = _Attempt(
        "created",
        "staff",
        None,
        username,
        {"role": (None, role), "units": (None, _unit_names(units))},
    )
    _require_may_assign(actor, role, attempt)
    _require_units_within_reach(actor, units, attempt)
    errors = {}
    if not username:
        errors["username"] = "Give a username."
    if not email.strip():
        errors["email"] = "Give the email address the set-up link goes to."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if Staff.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": f"The username “{username}” is taken."})
        staff = Staff(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            role=role,
            is_active=True,
        )
        staff.set_unusable_password()
        staff.save()
        staff.administrative_units.set(units)
        link = setup_link_issue(staff=staff, created_by=actor)
        _record(
            actor,
            action="created",
            subject="staff",
            target_id=staff.pk,
            target=staff.username,
            changes={
                "role": (None, role),
                "units": (None, _unit_names(units)),
                "name": (None, staff.get_full_name()),
                "email": (None, email),
            },
        )
    return StaffCreated(staff, link)


def _fresh(target: Staff) -> Staff:
    return Staff.objects.prefetch_related("administrative_units").get(pk=target.pk)


def staff_change_role(*, actor: Staff, target: Staff, role: str) -> bool:
    """Gives `target` a new role. Returns False (and records nothing) when it is unchanged.

    Side effects: the role column and an "admin.staff_changed" event (action
    "role_changed"). Raises PermissionDenied (recorded as refused) when the actor changes
    their own role, may not change `target`, or may not give `role`; ValidationError for an
    unknown role."""
    _require_manage_staff(actor)
    current = _fresh(target)
    attempt = _Attempt(
        "role_changed", "staff", current.pk, current.username, {"role": (current.role, role)}
    )
    if current.pk == actor.pk:
        _refuse(actor, attempt, "Nobody changes their own role; ask another owner.")
    _require_may_change(actor, current, attempt)
    _require_may_assign(actor, role, attempt)
    with transaction.atomic():
        locked = Staff.objects.select_for_update().get(pk=target.pk)
        _require_may_change(actor, locked)  # again under the lock; a race is not recorded
        if locked.role == role:
            return False
        old = locked.role
        locked.role = role
        locked.save(update_fields=["role"])
        target.role = role
        _record(
            actor,
            action="role_changed",
            subject="staff",
            target_id=locked.pk,
            target=locked.username,
            changes={"role": (old, role)},
        )
    return True


def staff_set_units(*, actor: Staff, target: Staff, units: list[AdministrativeUnit]) -> bool:
    """Binds `target` to exactly `units` (none = unrestricted). Returns whether anything
    changed. Side effects: the bindings and an "admin.staff_changed" event (action
    "units_changed"). Raises PermissionDenied (recorded as refused) when the actor may not
    change `target` (themselves, a peer, staff outside their units) or, being unit-bound,
    gives units that are not their own or none."""
    current = _fresh(target)
    old = _unit_names(current.administrative_units.all())
    new = _unit_names(units)
    attempt = _Attempt(
        "units_changed", "staff", current.pk, current.username, {"units": (old, new)}
    )
    _require_may_change(actor, current, attempt)
    _require_units_within_reach(actor, units, attempt)
    with transaction.atomic():
        locked = Staff.objects.select_for_update().get(pk=target.pk)
        _require_may_change(actor, locked)
        old = _unit_names(locked.administrative_units.all())
        if old == new:
            return False
        locked.administrative_units.set(units)
        _record(
            actor,
            action="units_changed",
            subject="staff",
            target_id=locked.pk,
            target=locked.username,
            changes={"units": (old, new)},
        )
    return True


def is_last_active_owner(staff: Staff) -> bool:
    return (
        staff.role == Role.OWNER
        and staff.is_active
        and not Staff.objects.filter(role=Role.OWNER, is_active=True).exclude(pk=staff.pk).exists()
    )


def staff_deactivate(*, actor: Staff, target: Staff) -> bool:
    """Switches `target`'s account off: they can no longer sign in, and a session they hold
    stops working at its next request (inactive staff are not authenticated). Their history
    stays. Returns False when already inactive.

    Side effects: is_active, their TOTP devices removed (a reactivated account enrolls
    afresh), an "admin.staff_changed" event (action "deactivated"). Raises PermissionDenied
    for oneself, for staff the actor may not change (both recorded as refused), and for the
    last active owner."""
    _require_manage_staff(actor)
    current = _fresh(target)
    attempt = _Attempt(
        "deactivated", "staff", current.pk, current.username, {"active": (current.is_active, False)}
    )
    if current.pk == actor.pk:
        _refuse(actor, attempt, "Nobody deactivates their own account.")
    _require_may_change(actor, current, attempt)
    with transaction.atomic():
        # Owners are locked together, always in id order (no deadlock between two of these),
        # so owners deactivating each other at once cannot leave nobody in charge.
        list(Staff.objects.select_for_update().filter(role=Role.OWNER).order_by("pk").values("pk"))
        locked = Staff.objects.select_for_update().get(pk=target.pk)
        # The actor may have been deactivated while this request waited for the lock.
        if not Staff.objects.filter(pk=actor.pk, is_active=True).exists():
            raise PermissionDenied("Your account has been deactivated.")
        _require_may_change(actor, locked)
        if is_last_active_owner(locked):
            raise PermissionDenied("The last active owner cannot be deactivated.")
        if not locked.is_active:
            return False
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        target.is_active = False
        TOTPDevice.objects.filter(user=locked).delete()
        _record(
            actor,
            action="deactivated",
            subject="staff",
            target_id=locked.pk,
            target=locked.username,
            changes={"active": (True, False)},
        )
    return True


# --- Administrative units ------------------------------------------------------------------------


def _check_unit(name: str, groups: list[Group], instance: AdministrativeUnit | None) -> str:
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the unit a name."
    else:
        others = AdministrativeUnit.objects.filter(name__iexact=name)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            errors["name"] = f"There is already a unit called “{name}”."
    if not groups:
        # A unit with no groups would leave its staff seeing nobody at all.
        errors["groups"] = "Choose at least one group: staff in the unit see these groups' users."
    if errors:
        raise ValidationError(errors)
    return name


def unit_create(
    *, actor: Staff, name: str, groups: list[Group], description: str = ""
) -> AdministrativeUnit:
    """Creates an administrative unit over `groups`. Side effects: the unit and an
    "admin.staff_changed" event (subject "unit", action "unit_created"). Raises
    PermissionDenied without MANAGE_STAFF or, for a unit-bound actor, for groups outside
    their units (recorded as refused); ValidationError for a taken name or no groups."""
    _require_manage_staff(actor)
    attempt = _Attempt(
        "unit_created",
        "unit",
        None,
        name.strip(),
        {"groups": (None, sorted(g.name for g in groups))},
    )
    _require_groups_within_reach(actor, {g.pk for g in groups}, attempt)
    with transaction.atomic():
        return _unit_create(actor, name, groups, description)


def _unit_create(
    actor: Staff, name: str, groups: list[Group], description: str
) -> AdministrativeUnit:
    name = _check_unit(name, groups, None)
    unit = AdministrativeUnit.objects.create(name=name, description=description)
    unit.groups.set(groups)
    _record(
        actor,
        action="unit_created",
        subject="unit",
        target_id=unit.pk,
        target=unit.name,
        changes={
            "name": (None, name),
            "description": (None, description),
            "groups": (None, sorted(g.name for g in groups)),
        },
    )
    return unit


def unit_update(
    *,
    actor: Staff,
    unit: AdministrativeUnit,
    name: str,
    groups: list[Group],
    description: str = "",
) -> bool:
    """Renames a unit, changes its description and its groups. Returns whether anything
    changed. Side effects: the unit and, when changed, an "admin.staff_changed" event
    (action "unit_updated") with old and new values. Raises as unit_create; a unit-bound
    actor also may not edit a unit holding groups outside their units."""
    _require_manage_staff(actor)
    current = sorted(unit.groups.all(), key=lambda g: g.name)
    attempt = _Attempt(
        "unit_updated",
        "unit",
        unit.pk,
        unit.name,
        {"groups": ([g.name for g in current], sorted(g.name for g in groups))},
    )
    _require_groups_within_reach(actor, {g.pk for g in current} | {g.pk for g in groups}, attempt)
    with transaction.atomic():
        return _unit_update(actor, unit, name, groups, description)


def _unit_update(
    actor: Staff, unit: AdministrativeUnit, name: str, groups: list[Group], description: str
) -> bool:
    locked = AdministrativeUnit.objects.select_for_update().get(pk=unit.pk)
    name = _check_unit(name, groups, locked)
    before = {
        "name": locked.name,
        "description": locked.description,
        "groups": sorted(g.name for g in locked.groups.all()),
    }
    after = {"name": name, "description": description, "groups": sorted(g.name for g in groups)}
    changes = {key: (before[key], after[key]) for key in after if before[key] != after[key]}
    if not changes:
        return False
    locked.name, locked.description = name, description
    locked.save(update_fields=["name", "description"])
    locked.groups.set(groups)
    _record(
        actor,
        action="unit_updated",
        subject="unit",
        target_id=locked.pk,
        target=locked.name,
        changes=changes,
    )
    return True


def staff_link_directory_identity(*, actor: Staff, target: Staff, end_user: Any | None) -> bool:
    """Links `target` to their own account in the directory (None: no account there), which
    then decides "own account" for every guard. Returns whether anything changed.

    Side effects: Staff.directory_identity and an "admin.staff_changed" event (action
    "identity_linked") with old and new usernames. Raises PermissionDenied (recorded as
    refused) when the actor may not change `target`; ValidationError when that end user is
    already linked to another staff member."""
    current = _fresh(target)
    old = current.directory_identity.username if current.directory_identity else None
    new = end_user.username if end_user is not None else None
    attempt = _Attempt(
        "identity_linked", "staff", current.pk, current.username, {"identity": (old, new)}
    )
    _require_may_change(actor, current, attempt)
    with transaction.atomic():
        locked = Staff.objects.select_for_update().get(pk=target.pk)
        new_id = end_user.pk if end_user is not None else None
        if locked.directory_identity_id == new_id:
            return False
        if new_id is not None and Staff.objects.filter(directory_identity_id=new_id).exists():
            raise ValidationError(
                {"end_user": f"{end_user.username} is already linked to another staff member."}
            )
        locked.directory_identity_id = new_id
        locked.save(update_fields=["directory_identity"])
        target.directory_identity_id = new_id
        _record(
            actor,
            action="identity_linked",
            subject="staff",
            target_id=locked.pk,
            target=locked.username,
            changes={"identity": (old, new)},
        )
    return True
