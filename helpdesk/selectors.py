"""Reads that ticket and audit views share, already scoped to the viewer's administrative
units, with their joins done.

Lists use keyset pagination on the primary key (newest first, ``id < after``, LIMIT n+1 to
know whether there is a next page): no OFFSET and no COUNT, so page 1 and page 40 000 cost
the same and the cost does not grow with the table.
"""

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from helpdesk.enums import OPEN_STATUSES, EventKind
from helpdesk.models import Staff, Ticket, TicketEvent
from helpdesk.scoping import scoped_group_ids

logger = logging.getLogger(__name__)

QUEUES: dict[str, str] = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "open": "All open",
    "all": "All tickets",
}

_NUMBER = re.compile(r"^#?(\d{1,18})$")


def _in_scope(qs: QuerySet, viewer: Staff, end_user_field: str = "end_user_id") -> QuerySet:
    """Rows whose end user is in a group of the viewer's units. An EXISTS per row rather than
    a join, so no DISTINCT is needed and the newest-first index scan stays a plain LIMIT."""
    group_ids = scoped_group_ids(viewer)
    if group_ids is None:
        return qs
    if not group_ids:
        return qs.none()
    from enrollment.models import EndUser

    through = EndUser.groups.through
    return qs.filter(
        Exists(through.objects.filter(enduser_id=OuterRef(end_user_field), group_id__in=group_ids))
    )


# --- Queues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueQuery:
    queue: str = "open"
    status: str = ""
    category: str = ""
    priority: str = ""
    q: str = ""
    after: int | None = None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_after: int | None


def _search(qs: QuerySet, text: str, probe_size: int = 1000) -> QuerySet:
    match = _NUMBER.match(text)
    if match:
        return qs.filter(pk=int(match.group(1)))
    if not settings.USING_POSTGRES:
        # SQLite (the embedded default): a plain substring match is good enough at demo scale.
        return qs.filter(search_text__icontains=text)
    from django.contrib.postgres.search import SearchQuery, SearchVector

    # The same expression as the GIN index of migration 0003, so the index serves it.
    matching = qs.annotate(search=SearchVector("search_text", config="simple")).filter(
        search=SearchQuery(text, config="simple", search_type="plain")
    )
    # Newest-first with LIMIT tempts PostgreSQL to walk the primary key backwards, testing
    # each row: instant for a common word, seconds at a million tickets for a rare one (a
    # username). So probe the index first: a rare term's matches (at most probe_size) are
    # fetched by id and sorted, a common term keeps the backward walk, which meets its
    # matches within a few thousand rows. Two queries, whatever the table size.
    probe = list(matching.order_by().values_list("pk", flat=True)[: probe_size + 1])
    if len(probe) <= probe_size:
        return qs.filter(pk__in=probe)
    return matching


QUEUE_ROW_FIELDS = (
    "subject",
    "category",
    "priority",
    "status",
    "sla_due_at",
    "end_user",
    "end_user__username",
    "end_user__full_name",
    "assignee",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def ticket_list_visible_to(
    viewer: Staff, query: QueueQuery, *, page_size: int = 25, search_probe: int = 1000
) -> Page:
    """One page of a queue, newest first. ``mine`` = assigned to the viewer, ``unassigned``,
    ``open`` = every open ticket, ``all`` = any status. Without a status filter the first
    three show open tickets only (and use the partial indexes built for that)."""
    # Only the columns a queue line shows: the description, the search text and the staff
    # rows' credentials would be read and thrown away 25 times per page.
    qs = Ticket.objects.select_related("end_user", "assignee").only(*QUEUE_ROW_FIELDS)
    if query.queue == "mine":
        qs = qs.filter(assignee=viewer)
    elif query.queue == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if query.status:
        qs = qs.filter(status=query.status)
    elif query.queue != "all":
        qs = qs.filter(status__in=OPEN_STATUSES)
    if query.category:
        qs = qs.filter(category=query.category)
    if query.priority:
        qs = qs.filter(priority=query.priority)
    if query.q:
        qs = _search(qs, query.q, search_probe)
    if query.after is not None:
        qs = qs.filter(pk__lt=query.after)
    qs = _in_scope(qs, viewer).order_by("-pk")
    rows = list(qs[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, rows[-1].pk if more else None)


def ticket_get_visible(viewer: Staff, ticket_id: int) -> Ticket:
    """The ticket with its end user and assignee, or Http404 when it does not exist or its end
    user is outside the viewer's units (the opener is the actor of the ticket's first event,
    which the ticket page reads anyway; ``ticket.opened_by`` is one more query).

    Two plain lookups by key, the ticket and its end user's group ids, and the unit check on
    those ids here, rather than one query carrying an EXISTS for the scope and an aggregate for
    the groups: the ticket page is opened all day long, and building that query cost Django
    twice what both round trips cost PostgreSQL. ``ticket.end_user_group_ids`` keeps the ids
    for the assign menu's cache key."""
    from enrollment.models import EndUser

    # A slice, not first(): the primary key picks one row, an ORDER BY would only cost.
    ticket = next(
        iter(Ticket.objects.select_related("end_user", "assignee").filter(pk=ticket_id)[:1]), None
    )
    if ticket is None:
        raise Http404("No such ticket.")
    group_ids = frozenset(
        EndUser.groups.through.objects.filter(enduser_id=ticket.end_user_id).values_list(
            "group_id", flat=True
        )
    )
    allowed = scoped_group_ids(viewer)
    if allowed is not None and not allowed & group_ids:
        raise Http404("No such ticket.")
    ticket.end_user_group_ids = group_ids
    return ticket


def ticket_event_list(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's trail in order, with actors."""
    return list(ticket.events.select_related("actor").order_by("seq"))


ASSIGNEE_CACHE_SECONDS = 60


def ticket_assignee_options(ticket: Ticket) -> list[tuple[int, str]]:
    """(id, name) of the staff who may take the ticket, for the assign menu, cached for a
    minute per set of groups the end user belongs to (who covers an end user depends on
    nothing else): staff and unit membership change rarely, the menu is on every ticket page,
    and the assign service re-checks the chosen person anyway. Reads the end user's groups
    (read with the ticket by ticket_get_visible, else one query)."""
    known = getattr(ticket, "end_user_group_ids", None)
    if known is None:
        group_ids = sorted(group.pk for group in ticket.end_user.groups.all())
    else:
        group_ids = sorted(known)
    key = "helpdesk:assignees:" + ",".join(map(str, group_ids))
    options = cache.get(key)
    if options is None:
        options = [(s.pk, s.get_full_name() or s.username) for s in ticket_assignee_choices(ticket)]
        cache.set(key, options, ASSIGNEE_CACHE_SECONDS)
    return options


def ticket_assignee_choices(ticket: Ticket) -> list[Staff]:
    """Active staff who can work tickets and cover the ticket's end user (owners, staff bound
    to no unit, staff whose units include one of the end user's groups), in one query."""
    from enrollment.models import EndUser
    from helpdesk.models import AdministrativeUnit
    from helpdesk.roles import CAPABILITIES, Capability, Role

    working_roles = [role for role, caps in CAPABILITIES.items() if Capability.WORK_TICKETS in caps]
    user_groups = EndUser.groups.through.objects.filter(enduser_id=ticket.end_user_id).values(
        "group_id"
    )
    bound = AdministrativeUnit.objects.filter(staff=OuterRef("pk"))
    covering = bound.filter(groups__in=user_groups)
    return list(
        Staff.objects.filter(is_active=True, role__in=working_roles)
        .filter(Q(role=Role.OWNER) | ~Exists(bound) | Exists(covering))
        .order_by("first_name", "last_name", "username")[:200]
    )


# --- The end user's MFA picture ------------------------------------------------------------------


@dataclass
class MfaPicture:
    """What the ticket page shows about the end user, from the directory and the service."""

    end_user: Any
    enrollment: Any | None = None
    authenticators: list[Any] = field(default_factory=list)
    policy: Any | None = None
    devices: list[Any] = field(default_factory=list)
    auth_log: list[Any] = field(default_factory=list)
    fraud_signals: list[Any] = field(default_factory=list)
    service_error: str = ""
    # The service's name ("privacyIDEA") and, per report it does not give, why not.
    service_label: str = ""
    not_reported: dict[str, str] = field(default_factory=dict)
    # Services that own the directory: their tokens as they stand now, and a refresh button.
    service_tokens: list[Any] = field(default_factory=list)
    directory_refresh: bool = False


def end_user_mfa_picture(end_user: Any, *, log_limit: int = 20) -> MfaPicture:
    """Directory facts (status, latest enrollment, authenticators, effective policy) and the
    MFA service's reports (devices, the last `log_limit` sign-ins, open fraud signals).

    A service that cannot be reached does not take the ticket page down: its part of the
    picture is replaced by the error, and the directory part still shows."""
    from enrollment import mfa
    from enrollment.mfa import MFAServiceError, get_mfa_service
    from enrollment.models import Authenticator, Enrollment
    from enrollment.policy import effective_policy

    picture = MfaPicture(end_user=end_user)
    picture.enrollment = (
        Enrollment.objects.filter(end_user=end_user).order_by("-started_at", "-id").first()
    )
    picture.authenticators = list(
        Authenticator.objects.filter(end_user=end_user).select_related("device")
    )
    picture.policy = effective_policy(end_user, None)
    service = get_mfa_service()
    picture.service_label = service.label
    for capability in (mfa.CAPABILITY_DEVICE_REPORT, mfa.CAPABILITY_FRAUD_SIGNALS):
        if not service.supports(capability):
            picture.not_reported[capability] = mfa.not_reported_reason(capability)
    picture.directory_refresh = service.supports(mfa.CAPABILITY_DIRECTORY_SYNC)
    try:
        if mfa.CAPABILITY_DEVICE_REPORT not in picture.not_reported:
            picture.devices = service.device_report(end_user_id=end_user.pk)
        picture.auth_log = service.auth_log(end_user_id=end_user.pk, limit=log_limit)
        if mfa.CAPABILITY_FRAUD_SIGNALS not in picture.not_reported:
            picture.fraud_signals = service.fraud_signals(end_user_id=end_user.pk)
        if picture.directory_refresh:
            remote = service.directory_user(end_user_id=end_user.pk)
            picture.service_tokens = list(remote.tokens) if remote else []
    except MFAServiceError as exc:
        logger.warning("MFA service unavailable for end user %s: %s", end_user.pk, exc)
        picture.service_error = f"The MFA service did not answer: {exc}"
    return picture


# --- Audit review --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    actor: int | None = None
    end_user: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    ticket: int | None = None
    after: int | None = None


def _audit_queryset(viewer: Staff, query: AuditQuery) -> QuerySet:
    qs = TicketEvent.objects.select_related("actor", "end_user")
    if query.actor is not None:
        qs = qs.filter(actor_id=query.actor)
    if query.end_user:
        qs = qs.filter(end_user__username=query.end_user)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    if query.ticket is not None:
        qs = qs.filter(ticket_id=query.ticket)
    if query.date_from is not None:
        qs = qs.filter(occurred_at__gte=_day_start(query.date_from))
    if query.date_to is not None:
        qs = qs.filter(occurred_at__lt=_day_start(query.date_to + timedelta(days=1)))
    # Events about no end user (policy and staff changes) are for unrestricted reviewers only.
    if scoped_group_ids(viewer) is not None:
        qs = _in_scope(qs.filter(end_user__isnull=False), viewer)
    return qs.order_by(*_audit_order(query))


def _audit_order(query: AuditQuery) -> tuple[str, ...]:
    """Newest first. With a date range, by time (then id): the occurred_at index serves the
    range and the order together (an incremental sort on id within equal times), where the
    newest-id scan would walk every later event before reaching the range."""
    if query.date_from is not None or query.date_to is not None:
        return ("-occurred_at", "-pk")
    return ("-pk",)


def _day_start(day: date) -> datetime:
    from datetime import UTC

    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_event_list_visible_to(viewer: Staff, query: AuditQuery, *, page_size: int = 50) -> Page:
    """One page of events matching the filters, newest first (keyset on id)."""
    qs = _audit_queryset(viewer, query)
    if query.after is not None and _audit_order(query)[0] == "-pk":
        qs = qs.filter(pk__lt=query.after)
    elif query.after is not None:
        # Keyset on (occurred_at, id): events strictly before the last one shown.
        at = Subquery(TicketEvent.objects.filter(pk=query.after).values("occurred_at")[:1])
        qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=query.after)).filter(
            occurred_at__lte=at
        )
    rows = list(qs[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, rows[-1].pk if more else None)


# The columns of an exported event, in the CSV's order of use.
AUDIT_EXPORT_COLUMNS = (
    "pk",
    "occurred_at",
    "ticket_id",
    "stream",
    "seq",
    "kind",
    "actor__username",
    "end_user__username",
    "payload",
    "hash",
    "prev_hash",
)


def audit_event_rows_visible_to(viewer: Staff, query: AuditQuery) -> Iterator[tuple]:
    """Every matching event as a tuple of AUDIT_EXPORT_COLUMNS, in the review's order,
    streamed from a server-side cursor in chunks (the CSV export: constant memory, and no
    model instances, which cost more than the rest of a row)."""
    return (
        _audit_queryset(viewer, query).values_list(*AUDIT_EXPORT_COLUMNS).iterator(chunk_size=5000)
    )


def audit_actor_choices() -> list[Staff]:
    return list(Staff.objects.order_by("username")[:500])


EVENT_KIND_CHOICES = EventKind.choices
