"""Reads for bulk enrollment work: end users pending enrollment, filtered, and bulk jobs,
both scoped to the viewer's administrative units.

An end user is pending enrollment when the directory says so (status pending_enrollment).
The list shows, per user, the stage their latest enrollment reached and their latest
enrollment link, both computed in the one query that lists them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from enrollment import clock
from enrollment.enums import UserStatus
from enrollment.models import (
    Application,
    BulkJob,
    EndUser,
    Enrollment,
    EnrollmentLink,
    Group,
    Policy,
)
from enrollment.selectors import end_user_list_visible_to
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.scoping import scoped_group_ids

# The stage filter's value for end users who never started an enrollment.
NO_ENROLLMENT = "none"

LINK_VALID = "valid"
LINK_EXPIRED = "expired"
LINK_NONE = "none"


@dataclass(frozen=True, slots=True)
class PendingFilter:
    """The filters of the pending-enrollment list (all optional). Stored on a bulk job as
    `as_data()`, so the job page can say which set it was started for."""

    group_id: int | None = None
    application_id: int | None = None
    invited_before: date | None = None
    stage: str = ""  # an EnrollmentStage value, NO_ENROLLMENT, or "" for any
    link: str = ""  # LINK_VALID, LINK_EXPIRED, LINK_NONE, or "" for any

    def as_data(self) -> dict[str, object]:
        data = asdict(self)
        if self.invited_before is not None:
            data["invited_before"] = self.invited_before.isoformat()
        return {key: value for key, value in data.items() if value not in (None, "")}


def pending_end_users(staff: Staff, filters: PendingFilter | None = None) -> QuerySet[EndUser]:
    """End users pending enrollment that `staff` may see, matching `filters`, ordered by
    username, groups prefetched.

    Each row is annotated with `stage_reached` (the latest enrollment's stage, None when
    there is none), `link_created_at`, `link_enroll_by` and `link_sent_count` (the latest
    enrollment link's, None when there is none).

    The application filter keeps the end users who may sign in to it: when its policy
    names permitted groups, the members of those groups; otherwise everyone.
    """
    filters = filters or PendingFilter()
    now = clock.now()
    latest_enrollment = Enrollment.objects.filter(end_user=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    latest_link = EnrollmentLink.objects.filter(end_user=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    users = (
        end_user_list_visible_to(staff)
        .filter(status=UserStatus.PENDING_ENROLLMENT)
        .annotate(
            stage_reached=Subquery(latest_enrollment.values("stage")[:1]),
            link_created_at=Subquery(latest_link.values("created_at")[:1]),
            link_enroll_by=Subquery(latest_link.values("enroll_by")[:1]),
            link_sent_count=Subquery(latest_link.values("sent_count")[:1]),
        )
    )
    if filters.group_id is not None:
        users = users.filter(
            pk__in=EndUser.groups.through.objects.filter(group_id=filters.group_id).values(
                "enduser_id"
            )
        )
    if filters.application_id is not None:
        permitted = Policy.objects.filter(
            application_id=filters.application_id, sets_permitted_groups=True
        )
        # Members of the permitted groups, when the application's policy limits it to some.
        member_of_permitted = EndUser.groups.through.objects.filter(
            group__permitted_by_policies__in=permitted
        ).values("enduser_id")
        users = users.filter(~Exists(permitted) | Q(pk__in=member_of_permitted))
    if filters.invited_before is not None:
        cutoff = datetime.combine(filters.invited_before, time.min, tzinfo=now.tzinfo)
        users = users.filter(
            Exists(EnrollmentLink.objects.filter(end_user=OuterRef("pk"), created_at__lt=cutoff))
        )
    if filters.stage == NO_ENROLLMENT:
        users = users.filter(stage_reached__isnull=True)
    elif filters.stage:
        users = users.filter(stage_reached=filters.stage)
    if filters.link == LINK_VALID:
        users = users.filter(link_enroll_by__gt=now)
    elif filters.link == LINK_EXPIRED:
        users = users.filter(link_enroll_by__lte=now)
    elif filters.link == LINK_NONE:
        users = users.filter(link_enroll_by__isnull=True)
    return users


def filter_choices(staff: Staff) -> tuple[QuerySet[Group], QuerySet[Application]]:
    """The groups (only those of the viewer's units, when bound) and applications the
    filter form offers."""
    group_ids = scoped_group_ids(staff)
    groups = Group.objects.order_by("name")
    if group_ids is not None:
        groups = groups.filter(pk__in=group_ids)
    return groups, Application.objects.order_by("name")


# --- Jobs ----------------------------------------------------------------------------------------


def staff_unit_ids(staff: Staff) -> list[int]:
    """The administrative units a job started by `staff` covers; empty = every end user
    (owners, and staff bound to no unit)."""
    if scoped_group_ids(staff) is None:
        return []
    return sorted(AdministrativeUnit.objects.filter(staff=staff).values_list("pk", flat=True))


def units_overlap(first: list[int], second: list[int]) -> bool:
    """Whether two jobs' unit lists can reach the same end user (empty = everyone)."""
    return not first or not second or bool(set(first) & set(second))


def _visible(job: BulkJob, staff: Staff, units: list[int] | None) -> bool:
    # An unrestricted viewer sees every job; a bound one the jobs of their own units.
    return units is None or (bool(job.unit_ids) and bool(set(job.unit_ids) & set(units)))


def _viewer_units(staff: Staff) -> list[int] | None:
    return None if scoped_group_ids(staff) is None else staff_unit_ids(staff)


def bulk_job_list_visible_to(staff: Staff, *, limit: int = 20) -> list[BulkJob]:
    """The latest bulk jobs `staff` may see, newest first, starters loaded."""
    units = _viewer_units(staff)
    jobs = BulkJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if units is None:
        return list(jobs[:limit])
    # Unit lists are short JSON arrays; matching them in Python keeps this portable.
    return [job for job in jobs[: limit * 5] if _visible(job, staff, units)][:limit]


def bulk_job_get_visible(staff: Staff, pk: int) -> BulkJob:
    """One bulk job `staff` may see, its starter loaded. Raises Http404 when there is none
    or it belongs to other administrative units (indistinguishable on purpose)."""
    job = BulkJob.objects.select_related("created_by").filter(pk=pk).first()
    if job is None or not _visible(job, staff, _viewer_units(staff)):
        raise Http404("No such bulk job.")
    return job
