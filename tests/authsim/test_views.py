"""The device simulator pages: what the end user sees, and the caller actions as buttons."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from authsim import caller
from authsim.models import FraudReport, Push
from enrollment.mfa import get_mfa_service
from tests.authsim.factories import world
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(technician, client_for):
    return client_for(technician)


@pytest.fixture
def pending_push(django_capture_on_commit_callbacks):
    user = world(username="push.user")
    with django_capture_on_commit_callbacks(execute=True):
        attempt = get_mfa_service().sign_in(end_user_id=user.pk, application="VPN")
    return user, user.devices.get(), attempt


def _detail(device):
    return reverse("authsim:device-detail", kwargs={"device_id": device.pk})


def _action(device):
    return reverse("authsim:device-action", kwargs={"device_id": device.pk})


def test_device_page_shows_the_pending_push_with_approve_and_deny(client, pending_push):
    _, device, _ = pending_push
    html = client.get(_detail(device)).content.decode()
    assert "Are you signing in?" in html
    assert 'value="approve_push"' in html
    assert "This wasn't me — report it" in html


def test_approve_button_approves_the_sign_in_and_redirects(client, pending_push):
    _, device, attempt = pending_push
    response = client.post(_action(device), {"action": "approve_push"})
    assert response["Location"] == _detail(device)
    final = get_mfa_service().attempt(attempt_id=attempt.id)
    assert (final.result, final.reason) == ("success", "user_approved")


def test_this_wasnt_me_records_a_fraud_report(client, pending_push):
    user, device, attempt = pending_push
    client.post(_action(device), {"action": "deny_push", "fraud": "on"})
    assert get_mfa_service().attempt(attempt_id=attempt.id).reason == "user_marked_fraud"
    assert FraudReport.objects.filter(end_user=user).count() == 1


def test_push_panel_polls_and_the_push_fragment_stops_with_286_once_answered(client, pending_push):
    _, device, _ = pending_push
    panel = client.get(_detail(device), **HTMX, HTTP_HX_TARGET="push-panel")
    assert panel.status_code == 200
    html = panel.content.decode()
    assert html.lstrip().startswith('<div id="push-panel"')
    push = Push.objects.get(device=device)
    push_url = reverse("authsim:device-push", kwargs={"device_id": device.pk, "push_id": push.pk})
    assert f'hx-get="{push_url}" hx-trigger="every 2s"' in html
    assert client.get(push_url, **HTMX).status_code == 200
    caller.perform("approve_push", end_user_id=device.end_user_id)
    done = client.get(push_url, **HTMX)
    assert done.status_code == 286
    assert "Approved" in done.content.decode()


def test_waiting_panel_keeps_polling_the_device_page(client):
    user = world()
    device = user.devices.get()
    html = client.get(_detail(device), **HTMX, HTTP_HX_TARGET="push-panel").content.decode()
    assert f'hx-get="{_detail(device)}" hx-trigger="every 2s"' in html
    assert "No sign-in request on the screen." in html


def test_htmx_action_rerenders_the_screen_fragment(client):
    user = world(devices=[{"key": "phone", "notifications_enabled": False}])
    device = user.devices.get()
    response = client.post(_action(device), {"action": "enable_notifications"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="device-screen"')
    assert "Notifications for the app are on now." in html
    assert "notifications off" not in html


def test_failed_action_says_why(client):
    user = world(devices=[{"key": "phone", "lost": True}])
    device = user.devices.get()
    response = client.post(_action(device), {"action": "update_app"}, follow=True)
    assert "I don&#x27;t have that phone any more." in response.content.decode()


def test_device_page_shows_the_code_by_the_devices_own_clock(client):
    user = world(
        devices=[{"key": "phone", "automatic_time": False, "clock_offset_seconds": 240}],
        authenticators=[{"method": "totp", "device": "phone"}],
    )
    device = user.devices.get()
    html = client.get(_detail(device)).content.decode()
    assert f'<output class="sim-code-value">{caller.peek_totp(device)}</output>' in html
    assert "manual time (240 s off)" in html


def test_code_panel_refreshes_itself(client):
    user = world(authenticators=[{"method": "totp", "device": "phone"}])
    device = user.devices.get()
    response = client.get(_detail(device), **HTMX, HTTP_HX_TARGET="totp-code")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="totp-code"')
    assert f'<output class="sim-code-value">{caller.peek_totp(device)}</output>' in html


def test_enrollment_screen_shows_a_qr_code_and_the_manual_key(client):
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[{"method": "push", "device": "phone", "status": "pending_activation"}],
        enrollment={"stage": "app_installed"},
    )
    device = user.devices.get()
    html = client.get(_detail(device)).content.decode()
    assert '<img class="qr" src="data:image/svg+xml' in html
    secret = user.authenticators.get().otp_secret.secret
    assert secret[:4] + " " + secret[4:8] in html


def test_inbox_and_spam_folder_are_shown(client):
    user = world(
        user={"status": "pending_enrollment"},
        authenticators=[],
        enrollment={"stage": "invited"},
        providers={"email": {"sender_filtered": True}},
    )
    device = user.devices.get()
    html = client.get(_detail(device)).content.decode()
    assert "The inbox is empty." in html
    assert "Spam folder (1)" in html


def test_sign_in_form_starts_a_push_shown_on_the_page(client, django_capture_on_commit_callbacks):
    user = world()
    device = user.devices.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("authsim:device-sign-in", kwargs={"device_id": device.pk}),
            {"application": "VPN", "factor": "auto"},
        )
    assert "Are you signing in?" in client.get(_detail(device)).content.decode()


def test_hardware_token_button_shows_the_next_code(client):
    user = world(
        devices=[{"key": "token", "platform": "hardware_token", "app_installed": False}],
        authenticators=[{"method": "hotp_token", "device": "token", "serial": "HT-77"}],
    )
    device = user.devices.get()
    response = client.post(_action(device), {"action": "press_token_button"}, follow=True)
    assert "The token shows " in response.content.decode()


def test_unknown_device_is_404(client):
    assert (
        client.get(reverse("authsim:device-detail", kwargs={"device_id": 999999})).status_code
        == 404
    )


def test_device_list_searches_by_owner(client):
    world(username="findme.please")
    world(username="someone.else")
    html = client.get(reverse("authsim:device-list"), {"q": "findme"}).content.decode()
    assert "findme.please" in html
    assert "someone.else" not in html


@pytest.mark.parametrize("rows", [1, 3])
def test_device_list_query_count(rows, client, django_assert_num_queries):
    user = world()
    for _ in range(rows - 1):
        DeviceFactory(end_user=user)
    client.get(reverse("authsim:device-list"))  # warm the session and clock caches
    # Session, staff, the unit scope (2), count, rows, …
    with django_assert_num_queries(10):
        response = client.get(reverse("authsim:device-list"))
    assert len(re.findall(r'href="/sim/devices/\d+/"', response.content.decode())) == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_device_page_query_count(
    rows, client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    user = world(devices=[], authenticators=[])
    device = DeviceFactory(end_user=user, platform="android", os_version="14")
    service = get_mfa_service()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(rows):
            service.notify_end_user(end_user_id=user.pk, subject=f"Notice {n}", body="Hello")
    client.get(_detail(device))
    with django_assert_num_queries(17):
        response = client.get(_detail(device))
    assert response.content.decode().count("<strong>Notice ") == rows


def test_nav_shows_the_device_simulator(client):
    html = client.get(reverse("helpdesk:home")).content.decode()
    assert escape(reverse("authsim:device-list")) in html
