"""The device simulator under the same rules as every page about an end user: unit scope,
acting needs OPERATE_DEVICES, the caller's secrets only for those who may act, and — outside
the demo run — nobody answers a verification push they sent themselves. Each attack goes
through the HTTP endpoints and is refused with a message and, where a ticket exists, an
event on it."""

import pytest
from django.urls import reverse

from authsim.models import Push
from enrollment.mfa import get_mfa_service
from enrollment.models import IdentityVerification
from enrollment.services import identity_current
from helpdesk.enums import EventKind
from helpdesk.roles import Role
from tests.authsim.factories import world
from tests.conftest import make_staff
from tests.enrollment.recovery_helpers import desk_fixture  # noqa: F401 - fixture
from tests.factories import AdministrativeUnitFactory, GroupFactory

pytestmark = pytest.mark.django_db

IDENTITY = EventKind.IDENTITY_VERIFIED


def _detail(device) -> str:
    return reverse("authsim:device-detail", kwargs={"device_id": device.pk})


def _action(device) -> str:
    return reverse("authsim:device-action", kwargs={"device_id": device.pk})


def _send_verification_push(desk, client, capture) -> IdentityVerification:
    url = reverse("enrollment:identity-push", kwargs={"ticket_pk": desk.ticket.pk})
    with capture(execute=True):
        assert client.post(url, {"device": desk.phone.pk}).status_code in (200, 302)
    return IdentityVerification.objects.get(ticket=desk.ticket, method="push")


def test_the_technician_who_sent_a_verification_push_cannot_approve_it(
    desk, client_for, django_capture_on_commit_callbacks
):
    client = client_for(desk.technician)
    verification = _send_verification_push(desk, client, django_capture_on_commit_callbacks)
    push = Push.objects.get(public_id=verification.push_id)

    page = client.get(_detail(desk.phone)).content.decode()
    response = client.post(_action(desk.phone), {"action": "approve_push", "push": push.pk})

    assert "You sent this verification push, so only the caller may answer it." in page
    assert 'value="approve_push"' not in page
    assert response.status_code == 302
    shown = client.get(response["Location"]).content.decode()
    assert "You sent this verification push, so only the caller may answer it." in shown
    push.refresh_from_db()
    assert push.status == "pending"
    assert identity_current(desk.ticket) is None
    refused = desk.events(IDENTITY)[-1]
    assert (refused["result"], refused["by"], refused["verification_id"]) == (
        "refused",
        "tina.tech",
        verification.pk,
    )
    assert {g["name"]: g["passed"] for g in refused["guards"]} == {
        "capability": True,
        "not_requester": False,
    }


def test_the_requester_cannot_deny_it_either_nor_answer_it_as_the_newest_request(
    desk, client_for, django_capture_on_commit_callbacks
):
    client = client_for(desk.technician)
    verification = _send_verification_push(desk, client, django_capture_on_commit_callbacks)

    client.post(_action(desk.phone), {"action": "deny_push"})
    client.post(_action(desk.phone), {"action": "approve_push"})

    assert Push.objects.get(public_id=verification.push_id).status == "pending"
    assert [p["result"] for p in desk.events(IDENTITY)] == ["pending", "refused", "refused"]


def test_a_colleague_may_answer_it_for_the_caller(
    desk, client_for, django_capture_on_commit_callbacks
):
    verification = _send_verification_push(
        desk, client_for(desk.technician), django_capture_on_commit_callbacks
    )
    push = Push.objects.get(public_id=verification.push_id)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(desk.colleague).post(
            _action(desk.phone), {"action": "approve_push", "push": push.pk}
        )

    push.refresh_from_db()
    assert push.status == "approved"


def test_in_the_demo_run_the_requester_may_play_the_caller(
    desk, client_for, settings, django_capture_on_commit_callbacks
):
    settings.DEMO_MODE = True
    client = client_for(desk.technician)
    verification = _send_verification_push(desk, client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(_action(desk.phone), {"action": "approve_push"})

    assert Push.objects.get(public_id=verification.push_id).status == "approved"


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.SUPERVISOR])
def test_a_role_that_may_not_act_is_refused_with_an_event(
    role, desk, client_for, django_capture_on_commit_callbacks
):
    verification = _send_verification_push(
        desk, client_for(desk.technician), django_capture_on_commit_callbacks
    )
    watcher = make_staff(role, username="wendy.watch")
    desk.unit.staff.add(watcher)

    response = client_for(watcher).post(_action(desk.phone), {"action": "approve_push"})

    assert response.status_code == 403
    assert Push.objects.get(public_id=verification.push_id).status == "pending"
    refused = desk.events(IDENTITY)[-1]
    assert (refused["result"], refused["by"], refused["detail"]) == (
        "refused",
        "wendy.watch",
        "Your role may not act as the caller on a device.",
    )


def test_a_role_that_may_not_act_sees_neither_codes_nor_inboxes_nor_enrollment_keys(
    client_for, auditor, django_capture_on_commit_callbacks
):
    user = world(
        username="key.holder",
        user={"status": "pending_enrollment"},
        devices=[{"key": "phone", "platform": "ios"}],
        authenticators=[{"method": "push", "device": "phone", "status": "pending_activation"}],
        enrollment={"stage": "app_installed"},
    )
    device = user.devices.get()
    with django_capture_on_commit_callbacks(execute=True):
        get_mfa_service().notify_end_user(end_user_id=user.pk, subject="Secret notice", body="x")

    as_auditor = client_for(auditor).get(_detail(device)).content.decode()
    as_operator = client_for(make_staff(Role.HELPDESK)).get(_detail(device)).content.decode()

    for secret in ('aria-label="Authenticator app code"', "Secret notice", "Activation QR code"):
        assert secret not in as_auditor
    assert "Secret notice" in as_operator
    assert "Activation QR code" in as_operator
    assert "What only the caller sees" in as_auditor
    assert "Do what the helpdesk asks" not in as_auditor


def test_devices_outside_the_units_are_missing(client_for):
    sales, field = GroupFactory(name="Sales"), GroupFactory(name="Field")
    inside = world(username="in.side")
    outside = world(username="out.side")
    inside.groups.add(sales)
    outside.groups.add(field)
    tech = make_staff(Role.HELPDESK, username="unit.tech")
    AdministrativeUnitFactory(name="Sales desk", groups=[sales], staff=[tech])
    client = client_for(tech)

    listing = client.get(reverse("authsim:device-list")).content.decode()
    other = outside.devices.get()

    assert "in.side" in listing
    assert "out.side" not in listing
    assert client.get(_detail(other)).status_code == 404
    assert client.post(_action(other), {"action": "enable_notifications"}).status_code == 404
    sign_in = reverse("authsim:device-sign-in", kwargs={"device_id": other.pk})
    assert client.post(sign_in, {"factor": "auto"}).status_code == 404
