"""Supervisor dashboard: outcome metrics and playbook analytics with filters, SVG charts and a
CSV export of the same figures (helpdesk.dashboard says what each figure counts)."""

import csv
import io
from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from enrollment import clock
from enrollment.labels import say, words
from helpdesk.charts import bar_chart
from helpdesk.dashboard import (
    DashboardQuery,
    Metrics,
    VersionAnalytics,
    dashboard_metrics,
    dashboard_unit_choices,
    dashboard_version_analytics,
    dashboard_version_choices,
)
from helpdesk.enums import Category, Outcome
from helpdesk.form_fields import BoundedDateField
from helpdesk.models import Staff
from helpdesk.roles import Capability
from troubleshooting.selectors import playbook_node_titles

# The range a visit without dates covers.
DEFAULT_DAYS = 30


class DashboardFilterForm(forms.Form):
    date_from = BoundedDateField(required=False, label="Opened from")
    date_to = BoundedDateField(required=False, label="Opened to")
    unit = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Team")
    complaint = forms.ChoiceField(
        choices=[("", "Any complaint"), *Category.choices], required=False
    )
    version = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Playbook version"
    )

    def __init__(self, *args, units=(), versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "Every team"), *[(u.pk, u.name) for u in units]]
        self.fields["version"].choices = [
            ("", "Any version"),
            *[(v.pk, f"{v.playbook.slug} v{v.number}") for v in versions],
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end of the range comes before its start.")
        return data

    def to_query(self) -> DashboardQuery:
        """The valid filters (an invalid one is dropped and shown with its message)."""
        self.is_valid()
        data = self.cleaned_data
        return DashboardQuery(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            unit=data.get("unit"),
            complaint=data.get("complaint") or "",
            version=data.get("version"),
        )


def _require_viewer(staff: Staff) -> None:
    if not staff.has_capability(Capability.VIEW_DASHBOARD):
        raise PermissionDenied


def _filter_data(request: HttpRequest) -> QueryDict:
    """The request's filters; a visit that names no dates covers the last DEFAULT_DAYS days."""
    data = request.GET.copy()
    if "date_from" not in data and "date_to" not in data:
        today = clock.now().date()
        data["date_from"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        data["date_to"] = today.isoformat()
    return data


def _form(request: HttpRequest) -> DashboardFilterForm:
    return DashboardFilterForm(
        _filter_data(request),
        units=list(dashboard_unit_choices(request.user)),
        versions=list(dashboard_version_choices()),
    )


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def _label(vocabulary, value: str) -> str:
    try:
        return vocabulary(value).label
    except ValueError:
        return value.replace("_", " ").capitalize()


def _version_view(analytics: VersionAnalytics) -> dict:
    outcomes = [(_label(Outcome, o), n) for o, n in analytics.outcomes]
    titles = playbook_node_titles(analytics.version)

    def step(node: str) -> str:
        return titles.get(node) or words(node)

    drop_off = [(step(node), n) for node, n in analytics.drop_off]
    paths = [(" → ".join(step(node) for node in nodes), n) for nodes, n in analytics.paths]
    step_times = [(step(node), duration_text(spent), n) for node, spent, n in analytics.step_times]
    return {
        "analytics": analytics,
        "title": analytics.title,
        "outcomes": outcomes,
        "outcome_chart": bar_chart(f"Outcome mix, {analytics.title}", outcomes),
        "drop_off_chart": bar_chart(f"Drop-off per step, {analytics.title}", drop_off),
        "step_times": step_times,
        "paths": paths,
        # Table rows built here, escaped: a version's tables run to a few hundred cells.
        "outcome_rows": _rows(_HEADED_ROW, outcomes),
        "drop_off_rows": _rows(_HEADED_ROW, drop_off),
        "path_rows": _rows("<tr><td>{}</td><td>{}</td></tr>", paths),
        "step_rows": _rows('<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>', step_times),
    }


_HEADED_ROW = '<tr><th scope="row">{}</th><td>{}</td></tr>'


def _rows(pattern: str, items: list[tuple]) -> SafeString:
    return format_html_join("", pattern, items)


def _metrics_view(metrics: Metrics) -> dict:
    shares = metrics.shares
    causes = [(say("root_cause", cause), n) for cause, n in metrics.root_causes]
    return {
        "metrics": metrics,
        "p50": duration_text(metrics.time_to_resolve_p50),
        "p90": duration_text(metrics.time_to_resolve_p90),
        "share_chart": bar_chart(
            "Success metrics (% of the cases each counts)",
            [(s.label, s.percent or 0) for s in shares],
            unit=" %",
            maximum=100,
        ),
        "escalation_chart": bar_chart("Escalations by reason", metrics.escalations),
        "root_causes": causes,
        "cause_chart": bar_chart("Cases per root cause", causes),
    }


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    form = _form(request)
    query = form.to_query()
    context = {
        "form": form,
        "export_url": f"{reverse('helpdesk:dashboard-export')}?{form.data.urlencode()}",
        **_metrics_view(dashboard_metrics(request.user, query)),
        "versions": [_version_view(v) for v in dashboard_version_analytics(request.user, query)],
    }
    template = "helpdesk/dashboard/dashboard.html"
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template += "#results"
    return render(request, template, context)


# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _seconds(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds():.0f}"


@require_GET
@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures as CSV (section, playbook version, item, value, of), with the
    same filters. Small and bounded, so built in memory."""
    _require_viewer(request.user)
    query = _form(request).to_query()
    metrics = dashboard_metrics(request.user, query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "playbook_version", "item", "value", "of"])
    rows = [
        ("filter", "", name, value or "", "")
        for name, value in (
            ("date_from", query.date_from),
            ("date_to", query.date_to),
            ("unit", query.unit),
            ("complaint", query.complaint),
            ("version", query.version),
        )
    ]
    rows += [
        ("tickets", "", "opened", metrics.tickets, ""),
        ("tickets", "", "resolved", metrics.resolved, ""),
    ]
    rows += [("share", "", s.label, s.numerator, s.denominator) for s in metrics.shares]
    rows += [
        ("time_to_resolve_seconds", "", "p50", _seconds(metrics.time_to_resolve_p50), ""),
        ("time_to_resolve_seconds", "", "p90", _seconds(metrics.time_to_resolve_p90), ""),
    ]
    rows += [("escalations", "", label, n, "") for label, n in metrics.escalations]
    rows += [("root_cause", "", cause, n, "") for cause, n in metrics.root_causes]
    for analytics in dashboard_version_analytics(request.user, query):
        label = analytics.label
        rows.append(("version_sessions", label, "sessions", analytics.sessions, ""))
        rows += [("version_outcome", label, o, n, "") for o, n in analytics.outcomes]
        rows += [("version_drop_off", label, node, n, "") for node, n in analytics.drop_off]
        rows += [("version_path", label, " > ".join(nodes), n, "") for nodes, n in analytics.paths]
        rows += [
            ("version_step_median_seconds", label, node, _seconds(spent), n)
            for node, spent, n in analytics.step_times
        ]
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="dashboard.csv"'
    return response
