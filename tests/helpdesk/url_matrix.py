from django.urls import reverse

from tests.permission_matrix import ANY_STAFF, PUBLIC, Entry, roles


def _redirects_home(response, world, staff):
    assert response["Location"] == reverse("helpdesk:home")


def _shows_role(response, world, staff):
    assert staff.get_role_display() in response.content.decode()


def _signed_out(response, world, staff):
    assert response["Location"] == reverse("helpdesk:login")
    assert "_auth_user_id" not in response.wsgi_request.session


ENTRIES = [
    Entry("helpdesk:home", ANY_STAFF, check=_shows_role),
    Entry("helpdesk:login", PUBLIC, ok_status=(302,), check=_redirects_home),
    # A fully signed-in staff member has nothing left to verify or enroll.
    Entry("helpdesk:login-verify", ANY_STAFF, ok_status=(302,), check=_redirects_home),
    Entry("helpdesk:login-enroll", ANY_STAFF, ok_status=(302,), check=_redirects_home),
    Entry("helpdesk:logout", ANY_STAFF, method="post", ok_status=(302,), check=_signed_out),
    Entry("healthz", PUBLIC),
    Entry("readyz", PUBLIC),
    Entry(
        "admin:index",
        roles("owner", "administrator"),
        covers=("admin:*",),
    ),
    Entry("admin:helpdesk_staff_changelist", roles("owner", "administrator")),
    Entry("admin:helpdesk_administrativeunit_changelist", roles("owner", "administrator")),
]


# --- Tickets and audit review ---------------------------------------------------------------------

_VIEWERS = roles("owner", "administrator", "user_manager", "helpdesk", "supervisor", "read_only")
_WORKERS = roles("owner", "administrator", "user_manager", "helpdesk")
_REVIEWERS = roles("owner", "administrator", "supervisor", "read_only")


def _ticket_kwargs(world):
    return {"pk": world.ticket.pk}


def _back_to_ticket(response, world, staff):
    assert response["Location"] == reverse("helpdesk:ticket-detail", kwargs=_ticket_kwargs(world))


def _last_event_by(kind):
    def check(response, world, staff):
        _back_to_ticket(response, world, staff)
        last = world.ticket.events.order_by("-seq").first()
        assert (last.kind, last.actor_id) == (kind, staff.pk)

    return check


def _opened(response, world, staff):
    from helpdesk.models import Ticket

    ticket = Ticket.objects.get(opened_by=staff)
    assert response["Location"] == reverse("helpdesk:ticket-detail", kwargs={"pk": ticket.pk})


def _shows_ticket(response, world, staff):
    assert "Matrix ticket" in response.content.decode()


def _shows_mfa_picture(response, world, staff):
    assert "Recent sign-ins" in response.content.decode()


def _verified(response, world, staff):
    # The verification itself runs in a worker (in-process without a broker).
    assert response["Location"] == reverse("helpdesk:audit-review")


def _csv(response, world, staff):
    assert response["Content-Type"] == "text/csv; charset=utf-8"


ENTRIES += [
    Entry("helpdesk:ticket-queue", _VIEWERS),
    Entry("helpdesk:ticket-open", _WORKERS),
    Entry(
        "helpdesk:ticket-open",
        _WORKERS,
        data=lambda w: {"end_user": w.ticket_end_user.pk},
        scoped=True,
        label="for an end user",
    ),
    Entry(
        "helpdesk:ticket-open",
        _WORKERS,
        method="post",
        data=lambda w: {
            "end_user": w.ticket_end_user.pk,
            "subject": "No prompt",
            "category": "missing_prompt",
            "channel": "phone",
            "priority": "normal",
        },
        ok_status=(302,),
        scoped=True,
        check=_opened,
    ),
    Entry(
        "helpdesk:ticket-detail",
        _VIEWERS,
        kwargs=_ticket_kwargs,
        scoped=True,
        check=_shows_ticket,
    ),
    Entry(
        "helpdesk:ticket-mfa-picture",
        _VIEWERS,
        kwargs=_ticket_kwargs,
        scoped=True,
        check=_shows_mfa_picture,
    ),
    # With the simulator there is nothing to import: the ticket page says so and nothing
    # changes (the privacyIDEA tests sync for real).
    Entry(
        "helpdesk:ticket-directory-refresh",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        ok_status=(302,),
        scoped=True,
        check=_back_to_ticket,
    ),
    Entry(
        "helpdesk:ticket-assign",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        data=lambda w: {"version": 1, "assignee": w.personas["owner"].pk},
        ok_status=(302,),
        scoped=True,
        check=_last_event_by("ticket.assigned"),
    ),
    Entry(
        "helpdesk:ticket-status",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        data=lambda w: {"version": 1, "status": "in_progress"},
        ok_status=(302,),
        scoped=True,
        check=_last_event_by("ticket.status_changed"),
    ),
    Entry(
        "helpdesk:ticket-escalate",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        data=lambda w: {"version": 1, "to_tier": 2, "reason": "Needs L2"},
        ok_status=(302,),
        scoped=True,
        check=_last_event_by("ticket.escalated"),
    ),
    Entry(
        "helpdesk:ticket-resolve",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        data=lambda w: {"version": 1, "outcome": "working_as_designed"},
        ok_status=(302,),
        scoped=True,
        check=_last_event_by("ticket.resolved"),
    ),
    Entry(
        "helpdesk:ticket-comment",
        _WORKERS,
        method="post",
        kwargs=_ticket_kwargs,
        data=lambda w: {"body": "Called back."},
        ok_status=(302,),
        scoped=True,
        check=_last_event_by("ticket.commented"),
    ),
    Entry("helpdesk:audit-review", _REVIEWERS),
    Entry("helpdesk:audit-export", _REVIEWERS, check=_csv),
    Entry("helpdesk:dashboard", roles("owner", "administrator", "supervisor")),
    Entry(
        "helpdesk:dashboard-export",
        roles("owner", "administrator", "supervisor"),
        check=_csv,
    ),
    Entry(
        "helpdesk:audit-verify",
        _REVIEWERS,
        method="post",
        ok_status=(302,),
        check=_verified,
    ),
]


# --- Staff and administrative units ---------------------------------------------------------------

_STAFF_MANAGERS = roles("owner", "administrator")


def _personas_unit(world):
    """The unit every persona is bound to (a unit-bound administrator reaches only it)."""
    from helpdesk.models import AdministrativeUnit

    return AdministrativeUnit.objects.get(name="Matrix unit")


def _staff_target(world):
    """A technician bound to the personas' unit, so a unit-bound administrator may
    change them."""
    from tests.factories import StaffFactory

    target = StaffFactory(username="matrix-target", role="helpdesk")
    target.administrative_units.add(_personas_unit(world))
    return {"pk": target.pk}


def _second_unit(world):
    """A second unit over the personas' group, the personas bound to it too."""
    from tests.factories import AdministrativeUnitFactory

    return AdministrativeUnitFactory(
        name="Matrix second unit",
        groups=[world.in_scope_group],
        staff=list(world.personas.values()),
    )


def _matrix_unit(world):
    from tests.factories import AdministrativeUnitFactory

    return {
        "pk": AdministrativeUnitFactory(name="Matrix edit unit", groups=[world.in_scope_group]).pk
    }


def _last_staff_event_by(action):
    def check(response, world, staff):
        from helpdesk.models import TicketEvent

        last = TicketEvent.objects.filter(kind="admin.staff_changed").order_by("-id").first()
        assert (last.actor_id, last.payload["action"]) == (staff.pk, action)

    return check


def _says_where_the_setup_link_went(response, world, staff):
    assert "Set-up link sent" in response.content.decode(), response.context["form"].errors
    _last_staff_event_by("created")(response, world, staff)


ENTRIES += [
    Entry("helpdesk:staff-list", _STAFF_MANAGERS),
    Entry("helpdesk:staff-create", _STAFF_MANAGERS),
    Entry(
        "helpdesk:staff-create",
        _STAFF_MANAGERS,
        method="post",
        data=lambda w: {
            "username": "matrix-new",
            "role": "helpdesk",
            "email": "matrix-new@example.com",
            "units": [_personas_unit(w).pk],
        },
        check=_says_where_the_setup_link_went,
    ),
    Entry("helpdesk:staff-detail", _STAFF_MANAGERS, kwargs=_staff_target),
    Entry(
        "helpdesk:staff-role",
        _STAFF_MANAGERS,
        method="post",
        kwargs=_staff_target,
        data=lambda w: {"role": "read_only"},
        ok_status=(302,),
        check=_last_staff_event_by("role_changed"),
    ),
    Entry(
        "helpdesk:staff-units",
        _STAFF_MANAGERS,
        method="post",
        kwargs=_staff_target,
        data=lambda w: {"units": [_personas_unit(w).pk, _second_unit(w).pk]},
        ok_status=(302,),
        check=_last_staff_event_by("units_changed"),
    ),
    Entry(
        "helpdesk:staff-identity",
        _STAFF_MANAGERS,
        method="post",
        kwargs=_staff_target,
        data=lambda w: {"username": w.ticket_end_user.username},
        ok_status=(302,),
        check=_last_staff_event_by("identity_linked"),
    ),
    Entry(
        "helpdesk:staff-deactivate",
        _STAFF_MANAGERS,
        method="post",
        kwargs=_staff_target,
        ok_status=(302,),
        check=_last_staff_event_by("deactivated"),
    ),
    Entry("helpdesk:unit-list", _STAFF_MANAGERS),
    Entry("helpdesk:unit-create", _STAFF_MANAGERS),
    Entry(
        "helpdesk:unit-create",
        _STAFF_MANAGERS,
        method="post",
        data=lambda w: {"name": "Matrix new unit", "groups": [w.in_scope_group.pk]},
        ok_status=(302,),
        check=_last_staff_event_by("unit_created"),
    ),
    Entry("helpdesk:unit-edit", _STAFF_MANAGERS, kwargs=_matrix_unit),
    Entry(
        "helpdesk:unit-edit",
        _STAFF_MANAGERS,
        method="post",
        kwargs=_matrix_unit,
        data=lambda w: {"name": "Matrix renamed unit", "groups": [w.in_scope_group.pk]},
        ok_status=(302,),
        check=_last_staff_event_by("unit_updated"),
    ),
]


def _setup_token(world):
    """A fresh set-up link's token (one new account per request)."""
    from helpdesk.services.staff_setup import setup_link_issue, setup_link_token_make
    from tests.factories import StaffFactory

    staff = StaffFactory(role="helpdesk", email="setup@example.com")
    staff.set_unusable_password()
    staff.save()
    return {"token": setup_link_token_make(setup_link_issue(staff=staff, created_by=None))}


def _shows_the_setup_form(response, world, staff):
    assert "Set up your account" in response.content.decode()


ENTRIES += [
    Entry("helpdesk:staff-setup", PUBLIC, kwargs=_setup_token, check=_shows_the_setup_form),
]
