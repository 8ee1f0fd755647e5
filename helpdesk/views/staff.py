"""Staff and administrative units, for owners and administrators (MANAGE_STAFF).

Plain forms: a POST redirects back (PRG) or re-renders with status 200 and its errors. The
one exception is creating a staff member, answered with the page saying where the set-up
link went (the new person chooses their own password there). A rule the actor
breaks (their own role, someone at or above their rank or outside their units, units or
groups beyond their own, the last owner) is a 403 from the service, which records the
refusal on the admin stream; the pages offer only what the rules allow.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.forms_staff import (
    StaffCreateForm,
    StaffIdentityForm,
    StaffRoleForm,
    StaffUnitsForm,
    UnitForm,
)
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.permissions import assignable_roles, bound_unit_ids, can_manage_staff_member
from helpdesk.roles import Capability, Role
from helpdesk.services import staff as staff_services


def _require(staff: Staff) -> None:
    if not staff.has_capability(Capability.MANAGE_STAFF):
        raise PermissionDenied


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


def _apply_refusal(form, refusal: "staff_services.StaffRuleRefused") -> None:
    """A refusal about what the form asked for (a role, units, groups) comes back as that
    field's error; one about the target itself stays a 403."""
    if refusal.field is None or refusal.field not in form.fields:
        raise refusal
    form.add_error(refusal.field, str(refusal))


@dataclass(frozen=True, slots=True)
class StaffRow:
    staff: Staff
    role: str
    units: str
    manageable: bool


@require_GET
@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    bound_unit_ids(request.user)  # read once here, whatever the rows (the rule reads it)
    people = Staff.objects.prefetch_related(
        Prefetch("administrative_units", queryset=AdministrativeUnit.objects.order_by("name"))
    ).order_by("-is_active", "username")
    rows = [
        StaffRow(
            person,
            Role(person.role).label,
            ", ".join(unit.name for unit in person.administrative_units.all()),
            can_manage_staff_member(request.user, person),
        )
        for person in people
    ]
    return render(request, "helpdesk/staff/list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@login_required
def staff_create(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    form = StaffCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = staff_services.staff_create(
                actor=request.user,
                username=data["username"],
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                units=list(data["units"]),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except staff_services.StaffRuleRefused as refusal:
            _apply_refusal(form, refusal)
        else:
            return render(request, "helpdesk/staff/created.html", {"created": created})
    return render(request, "helpdesk/staff/create.html", {"form": form})


def _target(pk: int) -> Staff:
    target = (
        Staff.objects.select_related("directory_identity")
        .prefetch_related("administrative_units")
        .filter(pk=pk)
        .first()
    )
    if target is None:
        raise Http404("No such staff member.")
    return target


def _detail_context(
    request: HttpRequest,
    target: Staff,
    *,
    role_form: StaffRoleForm | None = None,
    units_form: StaffUnitsForm | None = None,
    identity_form: StaffIdentityForm | None = None,
) -> dict[str, Any]:
    actor = request.user
    manageable = can_manage_staff_member(actor, target)
    can_change_role = manageable and target.pk != actor.pk and bool(assignable_roles(actor))
    return {
        "target": target,
        "role_label": Role(target.role).label,
        "units": list(target.administrative_units.all()),
        "manageable": manageable,
        "is_self": target.pk == actor.pk,
        "role_form": (role_form or StaffRoleForm(initial={"role": target.role}, actor=actor))
        if can_change_role
        else None,
        "units_form": (
            units_form or StaffUnitsForm(initial={"units": list(target.administrative_units.all())})
        )
        if manageable
        else None,
        "identity": target.directory_identity,
        "identity_form": (
            identity_form
            or StaffIdentityForm(
                actor=actor,
                initial={
                    "username": target.directory_identity.username
                    if target.directory_identity
                    else ""
                },
            )
        )
        if manageable
        else None,
        "can_deactivate": manageable
        and target.pk != actor.pk
        and target.is_active
        and not staff_services.is_last_active_owner(target),
    }


@require_GET
@login_required
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    target = _target(pk)
    return render(request, "helpdesk/staff/detail.html", _detail_context(request, target))


@require_POST
@login_required
def staff_role(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    target = _target(pk)
    # The service refuses (and records the refusal of) oneself and anyone at or above
    # one's rank or outside one's units, whatever the form says.
    form = StaffRoleForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            changed = staff_services.staff_change_role(
                actor=request.user, target=target, role=form.cleaned_data["role"]
            )
        except staff_services.StaffRuleRefused as refusal:
            _apply_refusal(form, refusal)
        else:
            if changed:
                messages.success(request, f"{target.username} is now {Role(target.role).label}.")
            else:
                messages.info(request, "The role is unchanged.")
            return redirect("helpdesk:staff-detail", pk=target.pk)
    context = _detail_context(request, target, role_form=form)
    return render(request, "helpdesk/staff/detail.html", context)


@require_POST
@login_required
def staff_units(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    target = _target(pk)
    form = StaffUnitsForm(request.POST)
    if form.is_valid():
        try:
            changed = staff_services.staff_set_units(
                actor=request.user, target=target, units=list(form.cleaned_data["units"])
            )
        except staff_services.StaffRuleRefused as refusal:
            _apply_refusal(form, refusal)
        else:
            if changed:
                messages.success(request, "Units saved.")
            else:
                messages.info(request, "The units are unchanged.")
            return redirect("helpdesk:staff-detail", pk=target.pk)
    context = _detail_context(request, target, units_form=form)
    return render(request, "helpdesk/staff/detail.html", context)


@require_POST
@login_required
def staff_identity(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    target = _target(pk)
    form = StaffIdentityForm(request.POST, actor=request.user)
    if form.is_valid():
        end_user = form.cleaned_data["username"]
        try:
            changed = staff_services.staff_link_directory_identity(
                actor=request.user, target=target, end_user=end_user
            )
        except ValidationError as error:
            form.add_error("username", error.messages)
        else:
            if not changed:
                messages.info(request, "The directory account is unchanged.")
            elif end_user is None:
                messages.success(request, f"{target.username} has no directory account now.")
            else:
                messages.success(
                    request,
                    f"{end_user.username} is {target.username}'s own account: "
                    "they cannot act on it.",
                )
            return redirect("helpdesk:staff-detail", pk=target.pk)
    context = _detail_context(request, target, identity_form=form)
    return render(request, "helpdesk/staff/detail.html", context)


@require_POST
@login_required
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    target = _target(pk)
    staff_services.staff_deactivate(actor=request.user, target=target)
    messages.success(request, f"{target.username} can no longer sign in.")
    return redirect("helpdesk:staff-detail", pk=target.pk)


# --- Administrative units ------------------------------------------------------------------------


@require_GET
@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    units = AdministrativeUnit.objects.prefetch_related("groups", "staff").order_by("name")
    return render(request, "helpdesk/staff/units.html", {"units": units})


@require_http_methods(["GET", "POST"])
@login_required
def unit_create(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    form = UnitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit = staff_services.unit_create(
                actor=request.user,
                name=data["name"],
                description=data["description"],
                groups=list(data["groups"]),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except staff_services.StaffRuleRefused as refusal:
            _apply_refusal(form, refusal)
        else:
            messages.success(request, f"Unit {unit.name} created.")
            return redirect("helpdesk:unit-list")
    return render(request, "helpdesk/staff/unit_edit.html", {"form": form, "unit": None})


@require_http_methods(["GET", "POST"])
@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    unit = AdministrativeUnit.objects.prefetch_related("groups", "staff").filter(pk=pk).first()
    if unit is None:
        raise Http404("No such unit.")
    initial = {"name": unit.name, "description": unit.description, "groups": unit.groups.all()}
    form = UnitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changed = staff_services.unit_update(
                actor=request.user,
                unit=unit,
                name=data["name"],
                description=data["description"],
                groups=list(data["groups"]),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except staff_services.StaffRuleRefused as refusal:
            _apply_refusal(form, refusal)
        else:
            if changed:
                messages.success(request, "Unit saved.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("helpdesk:unit-list")
    return render(request, "helpdesk/staff/unit_edit.html", {"form": form, "unit": unit})
