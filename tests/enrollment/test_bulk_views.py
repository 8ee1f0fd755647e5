"""Bulk enrollment pages: the pending list, starting a job, the job's progress fragment."""

import pytest
from django.urls import reverse

from enrollment.bulk import PendingFilter
from enrollment.models import BulkJob
from enrollment.services.bulk import bulk_job_process, bulk_job_start
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory

PENDING_URL = reverse("enrollment:bulk-pending")
START_URL = reverse("enrollment:bulk-start")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(db):
    return GroupFactory(name="Sales")


@pytest.fixture
def admin_of_sales(sales):
    staff = make_staff(Role.ADMINISTRATOR, username="sales-admin")
    AdministrativeUnitFactory(name="Sales unit", groups=[sales], staff=[staff])
    return staff


def _pending(username, *groups, **kwargs):
    return EndUserFactory(
        username=username, status="pending_enrollment", groups=list(groups), **kwargs
    )


def _start(actor, count, action="reminder"):
    return bulk_job_start(
        actor=actor, action=action, filters=PendingFilter(), reason="Drive", confirmed_count=count
    )


def test_pending_page_counts_and_lists_only_the_viewers_units(client_for, admin_of_sales, sales):
    _pending("ann", sales)
    _pending("bob", GroupFactory(name="Finance"))

    response = client_for(admin_of_sales).get(PENDING_URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["count"] == 1
    assert "ann" in body
    assert "bob" not in body
    assert "1 end user pending enrollment" in body


def test_pending_page_offers_only_the_viewers_groups(client_for, admin_of_sales, sales):
    GroupFactory(name="Finance")

    form = client_for(admin_of_sales).get(PENDING_URL).context["filter_form"]

    assert [group.name for group in form.fields["group"].queryset] == ["Sales"]


def test_filter_change_returns_the_results_fragment(client_for, owner, sales):
    _pending("ann", sales)
    _pending("bob", GroupFactory(name="Finance"))

    response = client_for(owner).get(PENDING_URL, {"group": sales.pk}, **HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="bulk-results">')
    assert "ann" in body
    assert "bob" not in body
    assert f'name="group" value="{sales.pk}"' in body  # the start form keeps the filter


def test_pending_page_query_count_is_the_same_at_one_and_four_rows(
    client_for, owner, sales, django_assert_num_queries
):
    client = client_for(owner)
    _pending("ann", sales)

    def count_queries():
        client.get(PENDING_URL)  # warm the session and the sign-in checks
        with django_assert_num_queries(NUM_QUERIES):
            client.get(PENDING_URL)

    count_queries()
    for name in ("bob", "cat", "dan"):
        _pending(name, sales)
    count_queries()


# Sign-in and session bookkeeping, the users with their annotations, their groups, the
# latest jobs, the filter choices (groups, applications), the navigation's count of pending
# approvals (the owner approves): the same at any number of rows.
NUM_QUERIES = 12


def test_start_redirects_to_the_job_page(client_for, admin_of_sales, sales):
    _pending("ann", sales)

    response = client_for(admin_of_sales).post(
        START_URL,
        {"action": "reset", "reason": "Stalled", "confirmed_count": 1, "confirm": "on"},
    )

    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("enrollment:bulk-job", kwargs={"pk": job.pk})
    assert (job.action, job.reason, job.total) == ("reset", "Stalled", 1)


def test_start_without_confirmation_or_reason_rerenders_with_messages(
    client_for, admin_of_sales, sales
):
    _pending("ann", sales)

    response = client_for(admin_of_sales).post(
        START_URL, {"action": "reminder", "reason": " ", "confirmed_count": 1}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Tick the box to confirm the number of end users." in body
    assert "This field is required." in body
    assert BulkJob.objects.count() == 0


def test_start_refused_while_a_job_runs_for_the_unit_says_so(client_for, admin_of_sales, sales):
    _pending("ann", sales)
    running = _start(admin_of_sales, 1)

    response = client_for(admin_of_sales).post(
        START_URL,
        {"action": "reminder", "reason": "Again", "confirmed_count": 1, "confirm": "on"},
    )

    assert response.status_code == 200
    assert f"Bulk job #{running.pk} (send a reminder, started by sales-admin) is still running" in (
        response.content.decode()
    )
    assert BulkJob.objects.count() == 1


def test_job_fragment_polls_while_running_and_stops_with_286(client_for, admin_of_sales, sales):
    _pending("ann", sales)
    _pending("bob", sales, email="")
    job = _start(admin_of_sales, 2)
    client = client_for(admin_of_sales)
    url = reverse("enrollment:bulk-job", kwargs={"pk": job.pk})

    running = client.get(url, **HTMX)
    assert running.status_code == 200
    assert 'hx-trigger="every 2s"' in running.content.decode()
    assert '<progress class="bulk-progress" max="2" value="0"' in running.content.decode()

    bulk_job_process(job_id=job.pk)
    finished = client.get(url, **HTMX)

    body = finished.content.decode()
    assert finished.status_code == 286
    assert "hx-trigger" not in body
    assert '<progress class="bulk-progress" max="2" value="2"' in body
    assert "No email address of record" in body


def test_job_page_without_js_has_a_refresh_link(client_for, admin_of_sales, sales):
    _pending("ann", sales)
    job = _start(admin_of_sales, 1)
    url = reverse("enrollment:bulk-job", kwargs={"pk": job.pk})

    response = client_for(admin_of_sales).get(url)

    assert response.status_code == 200
    assert f'<a href="{url}">Refresh</a>' in response.content.decode()


def test_bad_filters_rerender_with_messages_and_reach_nobody(client_for, admin_of_sales, sales):
    _pending("ann", sales)
    finance = GroupFactory(name="Finance")

    response = client_for(admin_of_sales).get(
        PENDING_URL, {"invited_before": "next week", "group": finance.pk}
    )

    form = response.context["filter_form"]
    assert response.status_code == 200
    assert form.errors["invited_before"] == ["Enter a valid date."]
    assert form.errors["group"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert response.context["count"] == 0
    assert "Nobody to reach." in response.content.decode()


def test_resume_runs_the_rest_of_an_unfinished_job_once(
    client_for, admin_of_sales, sales, django_capture_on_commit_callbacks
):
    from authsim.models import Delivery, MessageKind

    users = [_pending(name, sales) for name in ("ann", "bob")]
    job = _start(admin_of_sales, 2)  # its task message never ran (still queued)
    url = reverse("enrollment:bulk-job-resume", kwargs={"pk": job.pk})
    client = client_for(admin_of_sales)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, follow=True)

    job.refresh_from_db()
    assert first.status_code == 302
    assert (job.state, job.done) == ("finished", 2)
    assert "The job has already finished." in again.content.decode()
    emails = Delivery.objects.filter(end_user__in=users, kind=MessageKind.ENROLLMENT)
    assert emails.count() == 2
