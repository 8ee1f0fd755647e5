"""The ticket page's MFA picture with privacyIDEA behind the port: the sign-in log and the
token states come from privacyIDEA, what it does not report says so, and the sync button
brings the directory up to date."""

from __future__ import annotations

import pytest
from django.urls import reverse

from enrollment.enums import AuthenticatorStatus
from enrollment.models import Authenticator, EndUser
from enrollment.services.directory_sync import directory_sync
from helpdesk.enums import Channel
from helpdesk.models import TicketEvent
from helpdesk.services.tickets import ticket_open

pytestmark = [pytest.mark.privacyidea, pytest.mark.django_db]


def _ticket(technician, username):
    directory_sync()
    end_user = EndUser.objects.get(service_id=f"{username}@corp")
    return ticket_open(
        actor=technician,
        end_user=end_user,
        subject="Codes refused",
        category="code_rejected",
        channel=Channel.PHONE,
    )


def test_the_mfa_picture_shows_privacyideas_log_and_tokens(privacyidea, technician, client_for):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username, description="Work phone")
    privacyidea.call("POST", "/token/set", serial=serial, max_failcount="2")
    privacyidea.check(username, "000000")
    privacyidea.check(username, "111111")
    ticket = _ticket(technician, username)

    response = client_for(technician).get(
        reverse("helpdesk:ticket-mfa-picture", kwargs={"pk": ticket.pk})
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Tokens at privacyIDEA now" in page
    assert serial in page
    assert "2 of 2" in page
    assert "Locked</span>" in page
    assert "“wrong otp value”" in page
    assert "The MFA service does not report this (the end user&#x27;s phones" in page
    assert "Sync from privacyIDEA" in page
    assert "otpauth" not in page


def test_the_sync_button_brings_a_change_made_at_privacyidea(privacyidea, technician, client_for):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username)
    ticket = _ticket(technician, username)
    privacyidea.call("POST", f"/token/disable/{serial}")

    response = client_for(technician).post(
        reverse("helpdesk:ticket-directory-refresh", kwargs={"pk": ticket.pk}),
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "0 authenticator(s) added, 1 updated, 0 revoked." in response.content.decode()
    assert Authenticator.objects.get(serial=serial).status == AuthenticatorStatus.DISABLED


def test_the_end_user_page_syncs_from_privacyidea(privacyidea, technician, client_for):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username)
    ticket = _ticket(technician, username)
    detail = reverse("enrollment:end-user-detail", kwargs={"pk": ticket.end_user.pk})
    client = client_for(technician)
    assert "Sync from privacyIDEA" in client.get(detail).content.decode()
    privacyidea.call("POST", f"/token/disable/{serial}")

    response = client.post(
        reverse("enrollment:end-user-directory-refresh", kwargs={"pk": ticket.end_user.pk}),
        follow=True,
    )

    assert response.redirect_chain == [(detail, 302)]
    assert "0 authenticator(s) added, 1 updated, 0 revoked." in response.content.decode()
    assert Authenticator.objects.get(serial=serial).status == AuthenticatorStatus.DISABLED
    event = TicketEvent.objects.get(end_user=ticket.end_user, kind="admin.directory_synced")
    assert event.actor_id == technician.pk
