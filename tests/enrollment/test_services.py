from datetime import timedelta

import pytest

from enrollment import clock
from enrollment.mfa import _service_for, get_mfa_service
from enrollment.models import ActivationLink, EnrollmentLink
from enrollment.selectors import activation_link_current
from enrollment.services import (
    ActivationLinkStillValid,
    EnrollmentLinkExpired,
    activation_link_issue,
    enrollment_link_issue,
    enrollment_link_resend,
)
from tests.factories import (
    ActivationLinkFactory,
    AuthenticatorFactory,
    EndUserFactory,
    EnrollmentLinkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(settings):
    settings.MFA_SERVICE = "tests.enrollment.recording_service.RecordingMFAService"
    _service_for.cache_clear()
    yield get_mfa_service()
    _service_for.cache_clear()


def test_enrollment_link_model_defaults_to_thirty_days():
    link = EnrollmentLinkFactory()

    assert round((link.enroll_by - link.created_at) / timedelta(hours=1)) == 30 * 24
    assert link.sent_count == 0
    assert link.last_sent_at is None


def test_activation_link_model_defaults_to_twenty_four_hours():
    link = ActivationLinkFactory()

    assert round((link.expires_at - link.created_at) / timedelta(minutes=1)) == 24 * 60
    assert link.used_at is None


def test_link_lifetimes_follow_settings(settings):
    settings.ENROLLMENT_LINK_DAYS = 7
    settings.ACTIVATION_LINK_HOURS = 2

    enrollment_link = EnrollmentLinkFactory()
    activation_link = ActivationLinkFactory()

    assert (
        round((enrollment_link.enroll_by - enrollment_link.created_at) / timedelta(hours=1))
        == 7 * 24
    )
    assert (
        round((activation_link.expires_at - activation_link.created_at) / timedelta(minutes=1))
        == 120
    )


def test_enrollment_link_issue_sends_a_thirty_day_link(service, django_capture_on_commit_callbacks):
    user = EndUserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        link = enrollment_link_issue(end_user=user)

    assert link.enroll_by == link.created_at + timedelta(days=30)
    assert link.sent_count == 1
    assert link.last_sent_at == link.created_at
    assert service.calls == [
        ("send_enrollment_email", {"end_user_id": user.pk, "enroll_by": link.enroll_by})
    ]


def test_enrollment_link_resend_keeps_the_original_enroll_by(
    service, django_capture_on_commit_callbacks
):
    link = enrollment_link_issue(end_user=EndUserFactory(), valid_for=timedelta(days=30))
    original_enroll_by = link.enroll_by
    clock.advance(timedelta(days=10))

    with django_capture_on_commit_callbacks(execute=True):
        resent = enrollment_link_resend(link=link)

    stored = EnrollmentLink.objects.get()
    assert stored.enroll_by == original_enroll_by
    assert stored.sent_count == 2
    assert stored.last_sent_at == resent.last_sent_at
    assert stored.last_sent_at - stored.created_at >= timedelta(days=10)
    assert service.calls == [
        (
            "send_enrollment_email",
            {"end_user_id": link.end_user_id, "enroll_by": original_enroll_by},
        )
    ]


def test_enrollment_link_resend_after_enroll_by_is_refused(service):
    link = enrollment_link_issue(end_user=EndUserFactory())
    clock.advance(timedelta(days=30, seconds=1))

    with pytest.raises(EnrollmentLinkExpired) as error:
        enrollment_link_resend(link=link)

    assert error.value.enroll_by == link.enroll_by
    assert EnrollmentLink.objects.get().sent_count == 1


def test_enrollment_link_expiry_is_read_from_the_clock():
    link = EnrollmentLinkFactory()

    assert link.is_expired() is False
    clock.advance(timedelta(days=30, seconds=1))
    assert link.is_expired() is True


def test_activation_link_issue_sends_a_twenty_four_hour_link(
    service, django_capture_on_commit_callbacks
):
    authenticator = AuthenticatorFactory(status="pending_activation")

    with django_capture_on_commit_callbacks(execute=True):
        link = activation_link_issue(authenticator=authenticator)

    assert link.expires_at == link.created_at + timedelta(hours=24)
    assert service.calls == [
        ("send_activation", {"authenticator_id": authenticator.pk, "expires_at": link.expires_at})
    ]


def test_activation_link_cannot_be_resent_while_unexpired_and_says_until_when(service):
    authenticator = AuthenticatorFactory(status="pending_activation")
    first = activation_link_issue(authenticator=authenticator)
    clock.advance(timedelta(hours=23))

    with pytest.raises(ActivationLinkStillValid) as error:
        activation_link_issue(authenticator=authenticator)

    assert error.value.expires_at == first.expires_at
    assert str(error.value) == (
        f"An activation link is still valid until {first.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    assert ActivationLink.objects.count() == 1


def test_activation_link_can_be_sent_again_once_expired(service):
    authenticator = AuthenticatorFactory(status="pending_activation")
    first = activation_link_issue(authenticator=authenticator)
    clock.advance(timedelta(hours=24, seconds=1))

    second = activation_link_issue(authenticator=authenticator)

    assert second.pk != first.pk
    assert activation_link_current(authenticator=authenticator) == second


def test_a_used_activation_link_does_not_block_a_new_one(service):
    authenticator = AuthenticatorFactory(status="pending_activation")
    first = activation_link_issue(authenticator=authenticator)
    first.used_at = clock.now()
    first.save(update_fields=["used_at"])

    assert activation_link_current(authenticator=authenticator) is None
    assert activation_link_issue(authenticator=authenticator).pk != first.pk


def test_another_authenticators_link_does_not_block(service):
    user = EndUserFactory()
    activation_link_issue(
        authenticator=AuthenticatorFactory(end_user=user, status="pending_activation")
    )
    other = AuthenticatorFactory(end_user=user, status="pending_activation")

    link = activation_link_issue(authenticator=other)

    assert link.authenticator == other
