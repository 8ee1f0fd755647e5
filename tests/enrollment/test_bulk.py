"""Bulk enrollment: the pending list's filters and scoping, starting a job, processing it."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from authsim.models import Delivery, MessageKind
from enrollment import clock
from enrollment.bulk import (
    LINK_EXPIRED,
    LINK_NONE,
    LINK_VALID,
    NO_ENROLLMENT,
    PendingFilter,
    bulk_job_get_visible,
    pending_end_users,
)
from enrollment.models import BulkJob, Enrollment, EnrollmentLink
from enrollment.services.bulk import BulkJobRefused, bulk_job_process, bulk_job_start
from enrollment.tasks import bulk_job_run
from helpdesk.enums import EventKind
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from helpdesk.services.audit import audit_chain_verify
from tests.conftest import make_staff
from tests.factories import (
    AdministrativeUnitFactory,
    ApplicationFactory,
    EndUserFactory,
    EnrollmentFactory,
    EnrollmentLinkFactory,
    GroupFactory,
    PolicyFactory,
)

PENDING = "pending_enrollment"


@pytest.fixture
def sales(db):
    return GroupFactory(name="Sales")


@pytest.fixture
def admin_of_sales(sales):
    staff = make_staff(Role.ADMINISTRATOR, username="sales-admin")
    AdministrativeUnitFactory(name="Sales unit", groups=[sales], staff=[staff])
    return staff


def _pending(username, *groups, **kwargs):
    return EndUserFactory(username=username, status=PENDING, groups=list(groups), **kwargs)


def _names(users):
    return sorted(user.username for user in users)


def _enrollment_emails(end_user):
    return Delivery.objects.filter(end_user=end_user, kind=MessageKind.ENROLLMENT).count()


def _start(actor, action="reminder", filters=None, reason="Quarterly push", count=None):
    filters = filters or PendingFilter()
    if count is None:
        count = pending_end_users(actor, filters).count()
    return bulk_job_start(
        actor=actor, action=action, filters=filters, reason=reason, confirmed_count=count
    )


# --- The pending list -----------------------------------------------------------------------------


def test_pending_list_never_includes_end_users_outside_the_viewers_units(admin_of_sales, sales):
    _pending("ann", sales)
    _pending("bob", GroupFactory(name="Finance"))
    EndUserFactory(username="cat", groups=[sales])  # active, not pending

    assert _names(pending_end_users(admin_of_sales)) == ["ann"]


def test_pending_list_of_an_owner_covers_every_unit(owner, sales):
    _pending("ann", sales)
    _pending("bob", GroupFactory(name="Finance"))

    assert _names(pending_end_users(owner)) == ["ann", "bob"]


def test_pending_list_filters_by_group(owner, sales):
    finance = GroupFactory(name="Finance")
    _pending("ann", sales)
    _pending("bob", finance)
    _pending("dan", sales, finance)

    assert _names(pending_end_users(owner, PendingFilter(group_id=finance.pk))) == ["bob", "dan"]


def test_pending_list_filters_by_application_permitted_groups(owner, sales):
    vpn = ApplicationFactory(name="VPN")
    mail = ApplicationFactory(name="Mail")
    PolicyFactory(
        scope="application", application=vpn, sets_permitted_groups=True, permitted_groups=[sales]
    )
    _pending("ann", sales)
    _pending("bob", GroupFactory(name="Finance"))

    assert _names(pending_end_users(owner, PendingFilter(application_id=vpn.pk))) == ["ann"]
    assert _names(pending_end_users(owner, PendingFilter(application_id=mail.pk))) == [
        "ann",
        "bob",
    ]


def test_pending_list_filters_by_invitation_date_stage_and_link(owner, sales):
    now = clock.now()
    ann = _pending("ann", sales)
    bob = _pending("bob", sales)
    _pending("cat", sales)  # never invited, no enrollment
    EnrollmentLinkFactory(
        end_user=ann, created_at=now - timedelta(days=40), enroll_by=now - timedelta(days=10)
    )
    EnrollmentLinkFactory(end_user=bob, created_at=now - timedelta(days=2))
    EnrollmentFactory(end_user=ann, stage="invited", started_at=now - timedelta(days=40))
    EnrollmentFactory(end_user=ann, stage="app_installed", started_at=now - timedelta(days=39))
    EnrollmentFactory(end_user=bob, stage="link_opened", started_at=now - timedelta(days=2))

    def names(**kwargs):
        return _names(pending_end_users(owner, PendingFilter(**kwargs)))

    cutoff = (now - timedelta(days=10)).date()
    assert names(invited_before=cutoff) == ["ann"]
    assert names(stage="app_installed") == ["ann"]
    assert names(stage="invited") == []  # ann's latest enrollment is further along
    assert names(stage=NO_ENROLLMENT) == ["cat"]
    assert names(link=LINK_EXPIRED) == ["ann"]
    assert names(link=LINK_VALID) == ["bob"]
    assert names(link=LINK_NONE) == ["cat"]
    row = pending_end_users(owner).get(username="ann")
    assert (row.stage_reached, row.link_enroll_by) == ("app_installed", now - timedelta(days=10))


def test_pending_list_query_count_does_not_grow_with_rows(owner, sales, django_assert_num_queries):
    def run():
        with django_assert_num_queries(2):  # the users with their annotations, their groups
            return list(pending_end_users(owner))

    user = _pending("ann", sales)
    EnrollmentLinkFactory(end_user=user)
    assert len(run()) == 1
    for name in ("bob", "cat", "dan"):
        EnrollmentLinkFactory(end_user=_pending(name, sales))
    assert len(run()) == 4


# --- Starting a job -------------------------------------------------------------------------------


def test_start_records_the_targets_and_an_audit_event(admin_of_sales, sales):
    _pending("ann", sales)
    _pending("bob", sales)
    _pending("zed", GroupFactory(name="Finance"))

    job = _start(admin_of_sales)

    assert (job.total, job.state, job.reason) == (2, "queued", "Quarterly push")
    assert sorted(job.items.values_list("end_user__username", flat=True)) == ["ann", "bob"]
    event = TicketEvent.objects.get(kind=EventKind.BULK_ENROLLMENT)
    assert (event.stream, event.actor_id, event.payload["event"], event.payload["total"]) == (
        "admin",
        admin_of_sales.pk,
        "started",
        2,
    )


def test_start_is_refused_without_the_capability(technician, sales):
    _pending("ann", sales)

    with pytest.raises(PermissionDenied):
        _start(technician, count=1)


def test_start_is_refused_when_the_confirmed_count_is_stale(admin_of_sales, sales):
    _pending("ann", sales)
    _pending("bob", sales)

    with pytest.raises(BulkJobRefused, match="2 end users match now, not 1"):
        _start(admin_of_sales, count=1)
    assert BulkJob.objects.count() == 0


def test_start_is_refused_above_the_size_cap(admin_of_sales, sales, settings):
    settings.BULK_JOB_MAX_USERS = 2
    for name in ("ann", "bob", "cat"):
        _pending(name, sales)

    with pytest.raises(BulkJobRefused, match="3 end users match, more than the 2"):
        _start(admin_of_sales)


def test_start_is_refused_without_a_reason_or_anyone_to_reach(admin_of_sales, sales):
    with pytest.raises(BulkJobRefused, match="No end user pending enrollment"):
        _start(admin_of_sales, count=0)
    _pending("ann", sales)
    with pytest.raises(BulkJobRefused, match="Give a reason"):
        _start(admin_of_sales, reason="  ")


def test_second_job_for_the_same_unit_is_refused_while_one_runs(admin_of_sales, sales):
    _pending("ann", sales)
    other_admin = make_staff(Role.USER_MANAGER, username="sales-manager")
    AdministrativeUnitFactory(name="Sales unit", staff=[admin_of_sales, other_admin])
    first = _start(admin_of_sales)  # enqueued after commit: still queued in this test

    with pytest.raises(BulkJobRefused, match=f"Bulk job #{first.pk} .* is still running"):
        _start(other_admin)

    bulk_job_process(job_id=first.pk)
    assert _start(other_admin).total == 1  # once the first finished


def test_job_of_another_unit_runs_alongside(admin_of_sales, sales):
    finance = GroupFactory(name="Finance")
    finance_admin = make_staff(Role.ADMINISTRATOR, username="finance-admin")
    AdministrativeUnitFactory(name="Finance unit", groups=[finance], staff=[finance_admin])
    _pending("ann", sales)
    _pending("bob", finance)
    _start(admin_of_sales)

    assert _start(finance_admin).total == 1


def test_job_of_another_unit_is_a_404(admin_of_sales, sales):
    from django.http import Http404

    finance_admin = make_staff(Role.ADMINISTRATOR, username="finance-admin")
    AdministrativeUnitFactory(name="Finance unit", groups=[GroupFactory()], staff=[finance_admin])
    _pending("ann", sales)
    job = _start(admin_of_sales)

    assert bulk_job_get_visible(admin_of_sales, job.pk) == job
    with pytest.raises(Http404):
        bulk_job_get_visible(finance_admin, job.pk)


# --- Processing -----------------------------------------------------------------------------------


def test_reminder_keeps_the_enroll_by_date_and_renews_an_expired_link(
    owner, sales, settings, django_capture_on_commit_callbacks
):
    settings.BULK_JOB_BATCH_SIZE = 2  # several batches
    now = clock.now()
    ann, bob, cat = _pending("ann", sales), _pending("bob", sales), _pending("cat", sales)
    valid = EnrollmentLinkFactory(end_user=ann, enroll_by=now + timedelta(days=5), sent_count=1)
    EnrollmentLinkFactory(
        end_user=bob, created_at=now - timedelta(days=31), enroll_by=now - timedelta(days=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        job = _start(owner)  # the task runs in-process once the start commits

    job.refresh_from_db()
    assert (job.state, job.done, job.failed, job.total) == ("finished", 3, 0, 3)
    valid.refresh_from_db()
    assert (valid.enroll_by, valid.sent_count) == (now + timedelta(days=5), 2)
    assert EnrollmentLink.objects.filter(end_user=bob).count() == 2  # a new one
    assert EnrollmentLink.objects.filter(end_user=cat).count() == 1
    assert [_enrollment_emails(user) for user in (ann, bob, cat)] == [1, 1, 1]
    assert job.started_at is not None
    assert job.finished_at is not None


def test_running_the_job_again_sends_nothing_twice(
    owner, sales, django_capture_on_commit_callbacks
):
    users = [_pending(name, sales) for name in ("ann", "bob", "cat")]
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(owner)

    with django_capture_on_commit_callbacks(execute=True):
        bulk_job_run(job_id=job.pk)
        bulk_job_process(job_id=job.pk)

    job.refresh_from_db()
    assert (job.done, job.failed) == (3, 0)
    assert [_enrollment_emails(user) for user in users] == [1, 1, 1]
    events = TicketEvent.objects.filter(kind=EventKind.BULK_ENROLLMENT)
    assert sorted(e.payload["event"] for e in events) == ["finished", "started"] + ["user"] * 3


def test_reset_starts_a_new_enrollment_and_link(owner, sales, django_capture_on_commit_callbacks):
    ann = _pending("ann", sales)
    EnrollmentFactory(end_user=ann, stage="code_scanned")
    EnrollmentLinkFactory(end_user=ann)

    with django_capture_on_commit_callbacks(execute=True):
        job = _start(owner, action="reset")

    job.refresh_from_db()
    assert (job.state, job.done) == ("finished", 1)
    latest = Enrollment.objects.filter(end_user=ann).order_by("-started_at", "-id").first()
    assert latest.stage == "invited"
    assert EnrollmentLink.objects.filter(end_user=ann).count() == 2
    assert _enrollment_emails(ann) == 1


def test_failures_are_recorded_per_user_and_the_rest_goes_on(
    owner, sales, django_capture_on_commit_callbacks
):
    ann = _pending("ann", sales)
    bob = _pending("bob", sales, email="")
    cat = _pending("cat", sales)
    job = _start(owner)
    cat.status = "active"  # enrolled between the start and the run
    cat.save()

    with django_capture_on_commit_callbacks(execute=True):
        bulk_job_process(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("finished", 1, 2)
    errors = dict(job.items.exclude(error="").values_list("end_user__username", "error"))
    assert errors == {
        "bob": "No email address of record to send the enrollment email to.",
        "cat": "No longer pending enrollment (now active).",
    }
    assert [_enrollment_emails(user) for user in (ann, bob, cat)] == [1, 0, 0]
    failed = TicketEvent.objects.get(
        kind=EventKind.BULK_ENROLLMENT, end_user=bob, payload__outcome="failed"
    )
    assert failed.payload["detail"] == errors["bob"]
    assert audit_chain_verify().ok


def test_a_finished_job_is_not_run_again(owner, sales):
    _pending("ann", sales)
    job = _start(owner)
    bulk_job_process(job_id=job.pk)
    finished_at = BulkJob.objects.get(pk=job.pk).finished_at

    clock.advance(timedelta(minutes=5))
    bulk_job_process(job_id=job.pk)

    assert BulkJob.objects.get(pk=job.pk).finished_at == finished_at


def test_filters_are_stored_as_data(owner, sales):
    _pending("ann", sales)
    job = _start(owner, filters=PendingFilter(group_id=sales.pk, invited_before=None, stage=""))
    assert job.filters == {"group_id": sales.pk}
    assert PendingFilter(invited_before=date(2026, 1, 2), link=LINK_EXPIRED).as_data() == {
        "invited_before": "2026-01-02",
        "link": "expired",
    }
