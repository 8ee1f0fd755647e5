"""Permission-matrix entries for the directory's URLs (recovery actions, identity
verification, approvals)."""

from django.urls import reverse

from helpdesk.enums import EventKind
from tests.permission_matrix import Entry, roles

_WORKERS = roles("owner", "administrator", "user_manager", "helpdesk")
_APPROVERS = roles("owner", "supervisor")


def _ticket(world):
    return {"ticket_pk": world.ticket.pk}


def _action(name):
    return lambda world: {"ticket_pk": world.ticket.pk, "action": name}


def _back_to_panel(response, world, staff):
    assert response["Location"] == reverse("enrollment:ticket-actions", kwargs=_ticket(world))


def _shows_panel(response, world, staff):
    assert 'id="recovery-panel"' in response.content.decode()


def _refused_without_identity(response, world, staff):
    _shows_panel(response, world, staff)
    last = world.ticket.events.filter(kind=EventKind.RECOVERY_ACTION).order_by("-seq").first()
    assert (last.actor_id, last.payload["outcome"]) == (staff.pk, "refused")
    assert {g["name"]: g["passed"] for g in last.payload["guards"]}["identity_verified"] is False
    assert "Verify the caller&#x27;s identity on this ticket first" in response.content.decode()


def _callback_verified(response, world, staff):
    _back_to_panel(response, world, staff)
    last = world.ticket.events.filter(kind=EventKind.IDENTITY_VERIFIED).order_by("-seq").first()
    assert (last.actor_id, last.payload["method"], last.payload["result"]) == (
        staff.pk,
        "callback",
        "verified",
    )


def _escalated_to_security(response, world, staff):
    world.ticket.refresh_from_db()
    assert (world.ticket.status, world.ticket.tier) == ("escalated", 3)


def _decided(response, world, staff):
    assert response["Location"] == reverse("enrollment:approval-queue")
    world.approval_request.refresh_from_db()
    assert (world.approval_request.status, world.approval_request.decided_by_id) == (
        "used",
        staff.pk,
    )


# --- Bulk enrollment ------------------------------------------------------------------------------

_BULK = roles("owner", "administrator", "user_manager")


def _bulk_world(world):
    """A pending end user in the personas' unit and one outside it; the in-unit group's
    filter, so every allowed role (owners see both units) counts exactly one."""
    from tests.factories import EndUserFactory

    EndUserFactory(
        username="matrix.pending", status="pending_enrollment", groups=[world.in_scope_group]
    )
    EndUserFactory(
        username="matrix.elsewhere",
        status="pending_enrollment",
        groups=[world.out_of_scope_group],
    )
    return {"group": world.in_scope_group.pk}


def _lists_pending(response, world, staff):
    body = response.content.decode()
    assert "matrix.pending" in body
    assert "matrix.elsewhere" not in body
    assert response.context["count"] == 1


def _bulk_started(response, world, staff):
    from enrollment.models import BulkJob

    job = BulkJob.objects.get()
    assert response["Location"] == reverse("enrollment:bulk-job", kwargs={"pk": job.pk})
    assert (job.created_by_id, job.total, job.action) == (staff.pk, 1, "reminder")


def _bulk_job(world):
    """A job started by the administrator persona for the personas' unit."""
    from enrollment.models import BulkJob
    from helpdesk.models import AdministrativeUnit

    job = BulkJob.objects.create(
        created_by=world.personas["administrator"],
        action="reminder",
        reason="Matrix",
        unit_ids=[AdministrativeUnit.objects.get(name="Matrix unit").pk],
        total=1,
    )
    return {"pk": job.pk}


def _bulk_resumed(response, world, staff):
    from enrollment.models import BulkJob
    from helpdesk.models import TicketEvent

    job = BulkJob.objects.get()
    assert response["Location"] == reverse("enrollment:bulk-job", kwargs={"pk": job.pk})
    last = TicketEvent.objects.filter(kind=EventKind.BULK_ENROLLMENT).order_by("-id").first()
    assert (last.actor_id, last.payload["event"], last.payload["by"]) == (
        staff.pk,
        "resumed",
        staff.username,
    )


def _shows_progress(response, world, staff):
    assert "<progress" in response.content.decode()


ENTRIES = [
    Entry(
        "enrollment:ticket-actions",
        _WORKERS,
        kwargs=_ticket,
        scoped=True,
        check=_shows_panel,
    ),
    Entry(
        "enrollment:ticket-action",
        _WORKERS,
        method="post",
        kwargs=_action("bypass_code_issue"),
        data=lambda world: {"reason": "Matrix", "count": 1},
        scoped=True,
        check=_refused_without_identity,
        label="bypass",
    ),
    Entry(
        "enrollment:ticket-action",
        _WORKERS,
        method="post",
        kwargs=_action("end_user_unlock"),
        data=lambda world: {"reason": "Matrix"},
        scoped=True,
        check=_refused_without_identity,
        label="unlock",
    ),
    Entry(
        "enrollment:identity-push",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        data=lambda world: {"device": 999_999},
        scoped=True,
        check=_shows_panel,
    ),
    Entry(
        "enrollment:identity-callback",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        data=lambda world: {"phone_number": world.ticket_end_user.mobile, "confirmed": "on"},
        ok_status=(302,),
        scoped=True,
        check=_callback_verified,
    ),
    Entry(
        "enrollment:identity-status",
        _WORKERS,
        kwargs=lambda world: {"pk": world.identity_verification.pk},
        ok_status=(302,),
        scoped=True,
        check=_back_to_panel,
    ),
    Entry(
        "enrollment:approval-request",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        data=lambda world: {"kind": "identity", "reason": "Matrix: no phone"},
        ok_status=(302,),
        scoped=True,
        check=_back_to_panel,
    ),
    Entry(
        "enrollment:escalate-security",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        data=lambda world: {"reason": "Open fraud signal"},
        ok_status=(302,),
        scoped=True,
        check=_escalated_to_security,
    ),
    Entry("enrollment:approval-queue", _APPROVERS),
    Entry(
        "enrollment:approval-decide",
        _APPROVERS,
        method="post",
        kwargs=lambda world: {"pk": world.approval_request.pk},
        data=lambda world: {"decision": "approve", "reason": "Manager vouched"},
        ok_status=(302,),
        scoped=True,
        check=_decided,
    ),
]


# --- Policy configuration and the explorer ---------------------------------------------------

_POLICY_CONFIGURERS = roles("owner", "administrator")
_POLICY_EXPLAINERS = roles("owner", "administrator", "user_manager")


def _global_policy(world):
    from enrollment.models import Policy

    policy, _ = Policy.objects.get_or_create(scope="global")
    return {"pk": policy.pk}


def _group_policy(world):
    from enrollment.models import Policy
    from tests.factories import GroupFactory

    policy, _ = Policy.objects.get_or_create(
        scope="group", group=GroupFactory(name="Matrix policy group")
    )
    return {"pk": policy.pk}


def _policy_event_by(action):
    def check(response, world, staff):
        from helpdesk.models import TicketEvent

        last = TicketEvent.objects.filter(kind=EventKind.POLICY_CHANGED).order_by("-id").first()
        assert (last.actor_id, last.payload["action"]) == (staff.pk, action)

    return check


def _new_app_policy(world):
    from tests.factories import ApplicationFactory

    return {
        "scope": "application",
        "application": ApplicationFactory(name="Matrix app").pk,
        "resend_limit": 2,
    }


def _explains(response, world, staff):
    body = response.content.decode()
    assert "matrix.caller" in body
    assert "Supplied by" in body


ENTRIES += [
    Entry("enrollment:policy-list", _POLICY_CONFIGURERS),
    Entry("enrollment:policy-create", _POLICY_CONFIGURERS),
    Entry(
        "enrollment:policy-create",
        _POLICY_CONFIGURERS,
        method="post",
        data=_new_app_policy,
        ok_status=(302,),
        check=_policy_event_by("created"),
    ),
    Entry("enrollment:policy-edit", _POLICY_CONFIGURERS, kwargs=_global_policy),
    Entry(
        "enrollment:policy-edit",
        _POLICY_CONFIGURERS,
        method="post",
        kwargs=_global_policy,
        data=lambda world: {"resend_limit": 4},
        ok_status=(302,),
        check=_policy_event_by("updated"),
    ),
    Entry(
        "enrollment:policy-delete",
        _POLICY_CONFIGURERS,
        method="post",
        kwargs=_group_policy,
        ok_status=(302,),
        check=_policy_event_by("deleted"),
    ),
    Entry("enrollment:policy-explain", _POLICY_EXPLAINERS),
    Entry(
        "enrollment:policy-explain",
        _POLICY_EXPLAINERS,
        data=lambda world: {"end_user": world.ticket_end_user.pk},
        scoped=True,
        check=_explains,
        label="for an end user",
    ),
    Entry("enrollment:bulk-pending", _BULK, data=_bulk_world, check=_lists_pending),
    Entry(
        "enrollment:bulk-start",
        _BULK,
        method="post",
        data=lambda world: {
            **_bulk_world(world),
            "action": "reminder",
            "reason": "Matrix reminder",
            "confirmed_count": 1,
            "confirm": "on",
        },
        ok_status=(302,),
        check=_bulk_started,
    ),
    Entry("enrollment:bulk-job", _BULK, kwargs=_bulk_job, scoped=True, check=_shows_progress),
    Entry(
        "enrollment:bulk-job-resume",
        _BULK,
        method="post",
        kwargs=_bulk_job,
        scoped=True,
        ok_status=(302,),
        check=_bulk_resumed,
    ),
]


def _nothing_to_hand_over(response, world, staff):
    _shows_panel(response, world, staff)
    assert "No bypass code was issued on this ticket." in response.content.decode()


ENTRIES.append(
    Entry(
        "enrollment:bypass-handed-over",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        scoped=True,
        check=_nothing_to_hand_over,
    )
)

_READERS = roles("owner", "administrator", "user_manager", "helpdesk", "supervisor", "read_only")


def _lists_end_users(response, world, staff):
    assert 'id="end-user-results"' in response.content.decode()


def _shows_end_user(response, world, staff):
    html = response.content.decode()
    assert world.ticket_end_user.username in html
    assert 'id="sign-ins"' in html


def _back_to_end_user(response, world, staff):
    assert response["Location"] == reverse(
        "enrollment:end-user-detail", kwargs={"pk": world.ticket_end_user.pk}
    )


ENTRIES += [
    Entry("enrollment:end-user-list", _READERS, check=_lists_end_users),
    Entry(
        "enrollment:end-user-detail",
        _READERS,
        kwargs=lambda world: {"pk": world.ticket_end_user.pk},
        scoped=True,
        check=_shows_end_user,
    ),
    # With the simulator there is nothing to import: back to the page, nothing changed (the
    # privacyIDEA tests sync for real).
    Entry(
        "enrollment:end-user-directory-refresh",
        _WORKERS,
        method="post",
        kwargs=lambda world: {"pk": world.ticket_end_user.pk},
        ok_status=(302,),
        scoped=True,
        check=_back_to_end_user,
    ),
]
