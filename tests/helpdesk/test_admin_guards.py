"""The Django admin cannot change what the guarded services own.

The walk below covers every registration in admin.site._registry: a model with no builder
here fails the test, so a new registration has to be decided (read-only or audited). For
each, an owner opens the change form; read-only records refuse the POST (403) and stay as
they were; the few editable ones write an "admin.record_changed" event with the change."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from helpdesk.enums import Category, Channel
from helpdesk.models import TicketEvent
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import (
    ActivationLinkFactory,
    AdministrativeUnitFactory,
    ApplicationFactory,
    AuthenticatorFactory,
    DeviceFactory,
    EndUserFactory,
    EnrollmentFactory,
    EnrollmentLinkFactory,
    GroupFactory,
    PolicyFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

# Editable in the admin (each save audited), and the field the walk changes.
EDITABLE = {
    "enrollment.Group": ("description", "Renamed in the admin"),
    "enrollment.Application": ("description", "Edited in the admin"),
    "authsim.ProviderState": ("sms_carrier_delay_seconds", "45"),
}


def _ticket():
    from helpdesk.services.tickets import ticket_open

    return ticket_open(
        actor=make_staff(Role.OWNER, username="ticket.opener"),
        end_user=EndUserFactory(),
        subject="Admin walk",
        category=Category.OTHER,
        channel=Channel.PHONE,
    )


def _identity_verification():
    from enrollment.models import IdentityVerification

    ticket = _ticket()
    return IdentityVerification.objects.create(
        ticket=ticket, end_user=ticket.end_user, method="push", requested_by=ticket.opened_by
    )


def _bypass_code():
    from enrollment import clock
    from enrollment.models import BypassCode

    now = clock.now()
    return BypassCode.objects.create(
        end_user=EndUserFactory(), code_hash="hash", created_at=now, expires_at=now + timedelta(1)
    )


def _sim_records():
    from authsim.models import Attempt, Delivery, FraudReport, Push
    from enrollment import clock

    user = EndUserFactory()
    device = DeviceFactory(end_user=user)
    attempt = Attempt.objects.create(end_user=user, factor="push")
    push = Push.objects.create(end_user=user, device=device, expires_at=clock.now())
    delivery = Delivery.objects.create(end_user=user, channel="sms", kind="code")
    fraud = FraudReport.objects.create(end_user=user, push=push)
    return {
        "authsim.Attempt": attempt,
        "authsim.Push": push,
        "authsim.Delivery": delivery,
        "authsim.FraudReport": fraud,
    }


def _axes(model_name):
    from axes import models as axes_models

    fields = {"username": "someone", "ip_address": "127.0.0.1", "user_agent": "x"}
    fields.update({"path_info": "/login/", "http_accept": "*/*"})
    if model_name == "AccessAttempt":
        fields.update({"get_data": "", "post_data": "", "failures_since_start": 3})
    return getattr(axes_models, model_name).objects.create(**fields)


def _provider_state():
    from authsim.models import ProviderState

    return ProviderState.objects.get_or_create(pk=1)[0]


BUILDERS = {
    "helpdesk.Staff": lambda: StaffFactory(role=Role.HELPDESK),
    "helpdesk.AdministrativeUnit": lambda: AdministrativeUnitFactory(),
    "enrollment.Group": lambda: GroupFactory(),
    "enrollment.Application": lambda: ApplicationFactory(),
    "enrollment.EndUser": lambda: EndUserFactory(),
    "enrollment.Policy": lambda: PolicyFactory(scope="global"),
    "enrollment.Device": lambda: DeviceFactory(),
    "enrollment.Authenticator": lambda: AuthenticatorFactory(),
    "enrollment.Enrollment": lambda: EnrollmentFactory(),
    "enrollment.EnrollmentLink": lambda: EnrollmentLinkFactory(),
    "enrollment.ActivationLink": lambda: ActivationLinkFactory(),
    "enrollment.BypassCode": _bypass_code,
    "enrollment.IdentityVerification": _identity_verification,
    "authsim.ProviderState": _provider_state,
    "authsim.Attempt": lambda: _sim_records()["authsim.Attempt"],
    "authsim.Push": lambda: _sim_records()["authsim.Push"],
    "authsim.Delivery": lambda: _sim_records()["authsim.Delivery"],
    "authsim.FraudReport": lambda: _sim_records()["authsim.FraudReport"],
    "axes.AccessAttempt": lambda: _axes("AccessAttempt"),
    "axes.AccessLog": lambda: _axes("AccessLog"),
    "axes.AccessFailureLog": lambda: _axes("AccessFailureLog"),
}

REGISTERED = sorted(model._meta.label for model in admin.site._registry)


def test_every_registered_model_has_a_builder_here():
    assert sorted(set(REGISTERED) - set(BUILDERS)) == []


def _form_data(form) -> dict:
    """What a browser would post back for the form as rendered (bound values)."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = getattr(value, "pk", value)
    return data


@pytest.mark.parametrize("label", REGISTERED)
def test_admin_change_form_is_read_only_or_audited(label, owner, client_for):
    model = next(m for m in admin.site._registry if m._meta.label == label)
    obj = BUILDERS[label]()
    info = (model._meta.app_label, model._meta.model_name)
    url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    client = client_for(owner)
    before = model_to_dict(obj)
    events_before = TicketEvent.objects.filter(kind="admin.record_changed").count()

    page = client.get(url)

    assert page.status_code == 200, label
    if label not in EDITABLE:
        # No save button, and a forged POST is refused and changes nothing.
        assert 'name="_save"' not in page.content.decode()
        assert client.post(url, {"status": "active", "name": "forged"}).status_code == 403
        assert model_to_dict(model.objects.get(pk=obj.pk)) == before
        add = reverse("admin:{}_{}_add".format(*info))
        assert client.post(add, {}).status_code == 403
        assert TicketEvent.objects.filter(kind="admin.record_changed").count() == events_before
        return
    field, value = EDITABLE[label]
    data = _form_data(page.context["adminform"].form)
    old = data.get(field, "")
    data[field] = value
    response = client.post(url, data)
    assert response.status_code == 302, label
    event = TicketEvent.objects.filter(kind="admin.record_changed").latest("id")
    assert (event.stream, event.actor_id) == ("admin", owner.pk)
    assert event.payload["model"] == label
    assert event.payload["object_id"] == str(obj.pk)
    changed = event.payload["changes"][field]
    assert (str(changed["old"] if changed["old"] is not None else ""), str(changed["new"])) == (
        str(old),
        value,
    )


def test_unlocking_unflagging_and_replacing_the_number_of_record_is_refused(owner, client_for):
    user = EndUserFactory(status="locked_out", privileged=True, mobile="+14155550101")
    url = reverse("admin:enrollment_enduser_change", args=[user.pk])

    response = client_for(owner).post(
        url,
        {
            "username": user.username,
            "status": "active",
            "mobile": "+14155550999",
            "phone": "+14155550999",
        },
    )

    assert response.status_code == 403
    user.refresh_from_db()
    assert (user.status, user.privileged, user.mobile) == ("locked_out", True, "+14155550101")


def test_a_groups_privileged_flag_is_not_editable_in_the_admin(owner, client_for):
    group = GroupFactory(name="Admins", privileged=True)
    url = reverse("admin:enrollment_group_change", args=[group.pk])

    response = client_for(owner).post(url, {"name": "Admins", "description": "x"})

    assert response.status_code == 302
    group.refresh_from_db()
    assert group.privileged is True
    event = TicketEvent.objects.filter(kind="admin.record_changed").latest("id")
    assert set(event.payload["changes"]) == {"description"}


def test_unit_bound_administrator_cannot_change_unit_membership_in_the_admin(
    administrator, client_for
):
    unit = AdministrativeUnitFactory(name="Sales", staff=[administrator])
    url = reverse("admin:helpdesk_administrativeunit_change", args=[unit.pk])

    response = client_for(administrator).post(url, {"name": "Sales", "groups": [], "staff": []})

    assert response.status_code == 403
    assert list(unit.staff.all()) == [administrator]
