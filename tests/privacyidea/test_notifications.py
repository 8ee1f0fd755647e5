"""With privacyIDEA, the end-user notices of recovery actions go through Django's email
framework over real SMTP (a local aiosmtpd server here), sent by the Celery task."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from enrollment.mfa import get_mfa_service
from enrollment.models import EndUser
from enrollment.services import bypass_code_issue, identity_callback_attest
from enrollment.services.directory_sync import directory_sync
from helpdesk.enums import Channel
from helpdesk.services.tickets import ticket_open

pytestmark = [pytest.mark.privacyidea, pytest.mark.django_db]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture
def smtp(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    yield inbox
    controller.stop()


def test_a_temporary_code_notice_reaches_the_end_user_by_smtp_without_the_code(
    privacyidea, smtp, technician, django_capture_on_commit_callbacks
):
    username = privacyidea.take_user()
    privacyidea.enrol_totp(username)
    directory_sync()
    end_user = EndUser.objects.get(service_id=f"{username}@corp")
    ticket = ticket_open(
        actor=technician,
        end_user=end_user,
        subject="Phone left at home",
        category="code_not_received",
        channel=Channel.PHONE,
    )
    identity_callback_attest(
        actor=technician, ticket=ticket, phone_number=end_user.mobile, confirmed=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        issued = bypass_code_issue(actor=technician, ticket=ticket, reason="Phone at home")

    [code] = issued.codes
    [(recipients, message)] = smtp.messages
    body = message.get_payload(decode=True).decode()
    assert recipients == [f"{username}@example.com"]
    assert message["Subject"] == "A change was made to your sign-in security"
    assert f"ticket #{ticket.pk}" in body
    assert code not in body
    # The code is privacyIDEA's own: accepted at sign-in once.
    service = get_mfa_service()
    assert service.sign_in(end_user_id=end_user.pk, passcode=code).succeeded
    assert not service.sign_in(end_user_id=end_user.pk, passcode=code).succeeded
