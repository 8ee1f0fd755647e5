"""Policy configuration for administrators and the "what applies to this user" explorer.

Pages: the list of policies (global, application, group) with the cost advisory; creating,
editing and deleting one; the explorer. A plain POST redirects (PRG); an invalid form
re-renders with status 200 and every value kept, each service error beside its field.

CONFIGURE_POLICY (administrators, owners) may use every page; the explorer also serves
MANAGE_END_USERS (user managers need to know why a user gets what they get), scoped to the
viewer's administrative units (an out-of-unit end user is a 404).
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment.enums import PolicyScope
from enrollment.forms_policy import ExplainForm, PolicyForm
from enrollment.labels import policy_setting_text as setting_text
from enrollment.labels import policy_source_text
from enrollment.models import Policy
from enrollment.policy import SETTING_LABELS, SETTING_NAMES, effective_policy
from enrollment.selectors import end_user_get_visible, end_user_list_visible_to
from enrollment.services.policy import (
    policy_cost_advisories,
    policy_create,
    policy_delete,
    policy_history,
    policy_inherited,
    policy_resolved,
    policy_update,
)
from helpdesk.models import Staff
from helpdesk.roles import Capability

SEARCH_LIMIT = 20


def _require_configure(staff: Staff) -> None:
    if not staff.has_capability(Capability.CONFIGURE_POLICY):
        raise PermissionDenied


def _wants_partial(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


@dataclass(frozen=True, slots=True)
class PolicyRow:
    policy: Policy
    url: str
    label: str
    settings_here: list[str]


def _policy_label(policy: Policy) -> str:
    if policy.scope == PolicyScope.APPLICATION:
        return f"Application: {policy.application.name}"
    if policy.scope == PolicyScope.GROUP:
        return f"Group: {policy.group.name}"
    return "Global (everyone)"


def _settings_here(policy: Policy) -> list[str]:
    resolved = policy_resolved(policy, inherited=dict.fromkeys(SETTING_NAMES, (None, "")))
    return [
        f"{SETTING_LABELS[name]}: {setting_text(name, value)}"
        for name, (value, source) in resolved.items()
        if source == "this policy"
    ]


@require_GET
@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    _require_configure(request.user)
    policies = list(
        Policy.objects.select_related("application", "group")
        .prefetch_related("exempt_groups", "permitted_groups")
        .order_by("scope", "priority", "group__name", "application__name", "id")
    )
    rows = {scope: [] for scope in PolicyScope.values}
    for policy in policies:
        rows[policy.scope].append(
            PolicyRow(
                policy,
                reverse("enrollment:policy-edit", kwargs={"pk": policy.pk}),
                _policy_label(policy),
                _settings_here(policy),
            )
        )
    global_policy = next((p for p in policies if p.scope == PolicyScope.GLOBAL), None)
    defaults = policy_inherited(scope=PolicyScope.GLOBAL)
    global_resolved = (
        policy_resolved(global_policy, inherited=defaults) if global_policy else defaults
    )
    advisories = [("Global (everyone)", policy_cost_advisories(global_resolved))]
    for row in rows[PolicyScope.APPLICATION]:
        resolved = policy_resolved(
            row.policy,
            inherited={name: (value, "global") for name, (value, _) in global_resolved.items()},
        )
        advisories.append((row.label, policy_cost_advisories(resolved)))
    context = {
        "global_row": rows[PolicyScope.GLOBAL][0] if rows[PolicyScope.GLOBAL] else None,
        "application_rows": rows[PolicyScope.APPLICATION],
        "group_rows": rows[PolicyScope.GROUP],
        "advisories": [(label, items) for label, items in advisories if items],
    }
    return render(request, "enrollment/policy/list.html", context)


def _apply_errors(form: PolicyForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


def _inherited_rows(scope: str, exclude_pk: int | None) -> dict[str, str]:
    return {
        name: f"{setting_text(name, value)} (from {source})"
        for name, (value, source) in policy_inherited(scope=scope, exclude_pk=exclude_pk).items()
    }


def _history_rows(policy: Policy) -> list[dict[str, Any]]:
    rows = []
    for entry in policy_history(policy):
        changes = [
            f"{SETTING_LABELS.get(name, name.capitalize())}: "
            f"{_audit_text(name, change.get('old'))} → {_audit_text(name, change.get('new'))}"
            for name, change in sorted(entry.changes.items())
        ]
        rows.append(
            {"at": entry.occurred_at, "by": entry.by, "action": entry.action, "changes": changes}
        )
    return rows


def _audit_text(name: str, value: Any) -> str:
    """A recorded (configured, not resolved) value: None is "inherit"."""
    if value is None:
        return "inherit"
    if value == "unlimited" and name == "max_invalid_attempts":
        return "no limit"
    if value == "" and name == "min_app_version":
        return "no minimum"
    if name in ("exempt_groups", "permitted_groups") and value == []:
        return "none"
    if value == "":
        return "(empty)"
    return setting_text(name, value) if name in SETTING_NAMES else str(value)


def _form_context(form: PolicyForm, policy: Policy | None, scope: str) -> dict[str, Any]:
    advisories = []
    history: list[dict[str, Any]] = []
    if policy is not None:
        advisories = policy_cost_advisories(policy_resolved(policy))
        history = _history_rows(policy)
    return {
        "form": form,
        "policy": policy,
        "scope": scope,
        "title": _policy_label(policy) if policy else "New policy",
        "inherited": _inherited_rows(scope, policy.pk if policy else None),
        "advisories": advisories,
        "can_delete": policy is not None and policy.scope != PolicyScope.GLOBAL,
        "history": history,
    }


@require_http_methods(["GET", "POST"])
@login_required
def policy_create_view(request: HttpRequest) -> HttpResponse:
    _require_configure(request.user)
    scope = request.POST.get("scope") or request.GET.get("scope") or PolicyScope.APPLICATION
    if scope not in PolicyScope.values:
        scope = PolicyScope.APPLICATION
    form = PolicyForm(request.POST or None, initial={"scope": scope})
    if request.method == "POST" and form.is_valid():
        try:
            saved = policy_create(
                actor=request.user,
                scope=form.cleaned_data["scope"],
                application=form.cleaned_data["application"],
                group=form.cleaned_data["group"],
                data=form.to_input(),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"{_policy_label(saved.policy)} created; it applies from the next sign-in."
            )
            return redirect("enrollment:policy-edit", pk=saved.policy.pk)
    return render(request, "enrollment/policy/edit.html", _form_context(form, None, scope))


def _policy_or_404(pk: int) -> Policy:
    policy = (
        Policy.objects.select_related("application", "group")
        .prefetch_related("exempt_groups", "permitted_groups")
        .filter(pk=pk)
        .first()
    )
    if policy is None:
        raise Http404("No such policy.")
    return policy


@require_http_methods(["GET", "POST"])
@login_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_configure(request.user)
    policy = _policy_or_404(pk)
    form = PolicyForm(request.POST or None, policy=policy)
    if request.method == "POST" and form.is_valid():
        try:
            saved = policy_update(actor=request.user, policy=policy, data=form.to_input())
        except Policy.DoesNotExist:
            raise Http404("The policy was deleted meanwhile.") from None
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            if saved.changed:
                names = ", ".join(
                    SETTING_LABELS.get(name, name.capitalize()) for name in sorted(saved.changes)
                )
                messages.success(request, f"Saved ({names}); it applies from the next sign-in.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("enrollment:policy-edit", pk=policy.pk)
    return render(request, "enrollment/policy/edit.html", _form_context(form, policy, policy.scope))


@require_POST
@login_required
def policy_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_configure(request.user)
    policy = _policy_or_404(pk)
    label = _policy_label(policy)
    try:
        policy_delete(actor=request.user, policy=policy)
    except Policy.DoesNotExist:
        raise Http404("The policy was deleted meanwhile.") from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("enrollment:policy-edit", pk=policy.pk)
    messages.success(request, f"{label} deleted; its users now inherit.")
    return redirect("enrollment:policy-list")


# --- The explorer --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExplainRow:
    label: str
    value: str
    source: str
    url: str | None


@require_GET
@login_required
def policy_explain(request: HttpRequest) -> HttpResponse:
    staff = request.user
    if not (
        staff.has_capability(Capability.CONFIGURE_POLICY)
        or staff.has_capability(Capability.MANAGE_END_USERS)
    ):
        raise PermissionDenied
    form = ExplainForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    query = data.get("q") or ""
    matches = list(end_user_list_visible_to(staff, search=query)[:SEARCH_LIMIT]) if query else []
    end_user = None
    rows: list[ExplainRow] = []
    effective = None
    application = data.get("application")
    if data.get("end_user"):
        end_user = end_user_get_visible(staff, data["end_user"])
        effective = effective_policy(end_user, application)
        can_edit = staff.has_capability(Capability.CONFIGURE_POLICY)
        edit_pattern = reverse("enrollment:policy-edit", kwargs={"pk": 987654321})
        for name, setting in effective.items():
            url = None
            if setting.policy_id is not None and can_edit:
                url = edit_pattern.replace("987654321", str(setting.policy_id))
            rows.append(
                ExplainRow(
                    SETTING_LABELS[name],
                    setting_text(name, setting.value),
                    policy_source_text(setting.source),
                    url,
                )
            )
    context = {
        "form": form,
        "query": query,
        "matches": matches,
        "end_user": end_user,
        "application": application,
        "effective": effective,
        "rows": rows,
        "can_configure": staff.has_capability(Capability.CONFIGURE_POLICY),
    }
    template = "enrollment/policy/explain.html"
    if _wants_partial(request):
        template += "#explain-result"
    return render(request, template, context)
