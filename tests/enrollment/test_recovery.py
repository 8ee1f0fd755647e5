"""Each recovery action's effect in the directory and at the MFA service (authsim), its
event, and the notice the end user receives through the service's own email channel."""

from datetime import timedelta

import pytest
from django.http import Http404

from authsim import caller
from authsim.models import Delivery, SimDevice, SimUser
from enrollment import clock
from enrollment.models import (
    ActivationLink,
    Authenticator,
    Device,
    EndUser,
    Enrollment,
    EnrollmentLink,
)
from enrollment.services import (
    RecoveryRefused,
    activation_resend,
    authenticator_reset,
    device_mark_lost,
    end_user_re_enroll,
    end_user_unlock,
    enrollment_email_resend,
    enrollment_link_issue,
    token_resync,
)
from tests.enrollment.recovery_helpers import desk_fixture, verify_caller  # noqa: F401
from tests.factories import AuthenticatorFactory, DeviceFactory

pytestmark = pytest.mark.django_db

REASON = "Caller verified by callback; new phone"


def notices(desk) -> list[str]:
    return list(
        Delivery.objects.filter(end_user=desk.end_user, kind="notice")
        .order_by("id")
        .values_list("body", flat=True)
    )


def test_re_enroll_retires_authenticators_and_starts_over(desk, django_capture_on_commit_callbacks):
    verify_caller(desk)

    with django_capture_on_commit_callbacks(execute=True):
        result = end_user_re_enroll(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    desk.push.refresh_from_db()
    new = Authenticator.objects.get(pk=result.authenticator_id)
    assert desk.push.status == "revoked"
    assert (new.status, new.method) == ("pending_activation", "push")
    assert Enrollment.objects.get(pk=result.enrollment_id).stage == "invited"
    assert ActivationLink.objects.get(authenticator=new).expires_at == result.activation_expires_at
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "pending_enrollment"
    assert Delivery.objects.filter(kind="activation", authenticator_id=new.pk).count() == 1
    payload = desk.last_event().payload
    assert (payload["outcome"], payload["target"]["retired_authenticator_ids"]) == (
        "done",
        [desk.push.pk],
    )
    assert notices(desk) == [
        "Hello Dana Lee,\n\nThe IT helpdesk started a new enrollment (ticket "
        f"#{desk.ticket.pk}).\n\nIf you did not ask the helpdesk for this, contact IT security "
        "straight away, using the number on the intranet rather than any number you were "
        "given by a caller.\n"
    ]


def test_notice_reaches_the_end_users_inbox(desk, django_capture_on_commit_callbacks):
    verify_caller(desk)
    with django_capture_on_commit_callbacks(execute=True):
        end_user_re_enroll(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    subjects = [m.subject for m in caller.inbox(desk.end_user)]

    assert "A change was made to your sign-in security" in subjects


def test_enrollment_email_resend_keeps_the_original_enroll_by(
    desk, django_capture_on_commit_callbacks
):
    link = enrollment_link_issue(end_user=desk.end_user)
    clock.advance(timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        resent = enrollment_email_resend(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert (resent.pk, resent.enroll_by, resent.sent_count) == (link.pk, link.enroll_by, 2)
    assert desk.last_event().payload["target"]["new_link"] is False


def test_enrollment_email_resend_issues_a_new_link_once_expired(desk):
    link = enrollment_link_issue(end_user=desk.end_user)
    clock.advance(timedelta(days=31))

    resent = enrollment_email_resend(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert resent.pk != link.pk
    assert EnrollmentLink.objects.count() == 2


def test_activation_resend_refused_while_one_is_unexpired(desk):
    pending = AuthenticatorFactory(end_user=desk.end_user, status="pending_activation")
    first = activation_resend(
        actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=pending.pk
    )

    with pytest.raises(RecoveryRefused) as refused:
        activation_resend(
            actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=pending.pk
        )

    assert refused.value.guard == "activation_unexpired"
    assert str(refused.value) == (
        f"An activation link is still valid until {first.expires_at:%Y-%m-%d %H:%M} UTC. Ask "
        "the user to use that one; a new one can be sent after it expires."
    )
    assert desk.last_event().payload["outcome"] == "refused"
    clock.advance(timedelta(hours=24))
    assert (
        activation_resend(
            actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=pending.pk
        ).pk
        != first.pk
    )


def test_activation_resend_for_another_users_authenticator_is_not_found(desk):
    stranger = AuthenticatorFactory(status="pending_activation")

    with pytest.raises(Http404):
        activation_resend(
            actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=stranger.pk
        )


def test_authenticator_reset(desk, django_capture_on_commit_callbacks):
    verify_caller(desk)

    with django_capture_on_commit_callbacks(execute=True):
        reset = authenticator_reset(
            actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=desk.push.pk
        )

    assert (reset.status, reset.activated_at) == ("pending_activation", None)
    assert Device.objects.get(pk=desk.phone.pk).push_capable is False  # the service forgot it
    assert ActivationLink.objects.filter(authenticator=reset).count() == 1
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "pending_enrollment"


def test_token_resync_from_two_consecutive_codes(desk):
    token = DeviceFactory(end_user=desk.end_user, name="Key fob", platform="hardware_token")
    SimDevice.objects.create(device=token, serial="HT-2201", token_counter=12)
    hotp = AuthenticatorFactory(
        end_user=desk.end_user, device=token, method="hotp_token", serial="HT-2201"
    )
    first, second = caller.current_code(token), caller.current_code(token)

    result = token_resync(
        actor=desk.technician,
        ticket=desk.ticket,
        reason="Codes rejected",
        authenticator_id=hotp.pk,
        first_code=first,
        second_code=second,
    )

    assert (result.ok, result.offset_steps) == (True, 12)
    payload = desk.last_event().payload
    assert payload["target"] == {"authenticator_id": hotp.pk, "offset_steps": 12}
    assert first not in str(payload)


def test_token_resync_refuses_a_push_authenticator(desk):
    with pytest.raises(RecoveryRefused) as refused:
        token_resync(
            actor=desk.technician,
            ticket=desk.ticket,
            reason="Codes rejected",
            authenticator_id=desk.push.pk,
            first_code="123456",
            second_code="654321",
        )

    assert refused.value.guard == "authenticator_is_token"


def test_unlock_a_locked_out_user(desk, django_capture_on_commit_callbacks):
    desk.end_user.status = "locked_out"
    desk.end_user.save(update_fields=["status"])
    SimUser.objects.create(end_user=desk.end_user, invalid_attempts=10)
    Authenticator.objects.filter(pk=desk.push.pk).update(failure_count=10)
    verify_caller(desk)

    with django_capture_on_commit_callbacks(execute=True):
        end_user_unlock(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert EndUser.objects.get(pk=desk.end_user.pk).status == "active"
    assert Authenticator.objects.get(pk=desk.push.pk).failure_count == 0
    assert SimUser.objects.get(end_user=desk.end_user).invalid_attempts == 0


def test_unlock_refuses_a_user_who_is_not_locked_out(desk):
    verify_caller(desk)

    with pytest.raises(RecoveryRefused) as refused:
        end_user_unlock(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert str(refused.value) == "dana.lee is not locked out (status: active)."


def test_mark_device_lost_disables_its_authenticators(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        device = device_mark_lost(
            actor=desk.technician,
            ticket=desk.ticket,
            reason="Phone stolen",
            device_id=desk.phone.pk,
        )

    assert device.lost_at <= desk.last_event().occurred_at
    assert Authenticator.objects.get(pk=desk.push.pk).status == "disabled"
    assert desk.last_event().payload["target"] == {
        "device_id": desk.phone.pk,
        "disabled_authenticator_ids": [desk.push.pk],
    }
    assert len(notices(desk)) == 1
    with pytest.raises(RecoveryRefused):
        device_mark_lost(
            actor=desk.technician, ticket=desk.ticket, reason="Again", device_id=desk.phone.pk
        )


def test_every_completed_action_notifies_the_end_user(desk, django_capture_on_commit_callbacks):
    pending = AuthenticatorFactory(end_user=desk.end_user, status="pending_activation")
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_email_resend(actor=desk.technician, ticket=desk.ticket, reason=REASON)
        activation_resend(
            actor=desk.technician, ticket=desk.ticket, reason=REASON, authenticator_id=pending.pk
        )

    assert [body.split("\n")[2] for body in notices(desk)] == [
        f"The IT helpdesk sent your enrollment email again (ticket #{desk.ticket.pk}).",
        f"The IT helpdesk sent a new activation link (ticket #{desk.ticket.pk}).",
    ]


def test_totp_resync_finds_a_phone_clock_running_late(desk):
    from authsim import otp
    from authsim.models import OtpSecret

    phone = DeviceFactory(end_user=desk.end_user, name="Android", platform="android")
    SimDevice.objects.create(device=phone, clock_offset_seconds=-120, automatic_time=False)
    totp = AuthenticatorFactory(end_user=desk.end_user, device=phone, method="totp")
    key = otp.new_secret()
    OtpSecret.objects.create(authenticator=totp, secret=key, device_secret=key)
    first = caller.peek_totp(phone, totp)
    clock.advance(timedelta(seconds=30))
    second = caller.peek_totp(phone, totp)

    result = token_resync(
        actor=desk.technician,
        ticket=desk.ticket,
        reason="Codes rejected",
        authenticator_id=totp.pk,
        first_code=first,
        second_code=second,
    )

    assert (result.ok, result.offset_steps) == (True, -4)
    assert OtpSecret.objects.get(authenticator=totp).drift_steps == -4
