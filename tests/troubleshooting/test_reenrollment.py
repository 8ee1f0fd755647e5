"""Re-enrollment binds the new authenticator to the phone the end user still holds, so the
app can activate it there (and simulated re-enrollments complete)."""

import pytest

from authsim import caller
from enrollment import clock
from enrollment.models import Authenticator, EndUser
from enrollment.services import end_user_re_enroll
from tests.enrollment.recovery_helpers import desk_fixture, verify_caller  # noqa: F401
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

REASON = "Caller verified by callback; start over"


def test_re_enroll_binds_the_new_authenticator_to_the_current_phone(
    desk, django_capture_on_commit_callbacks
):
    verify_caller(desk)

    with django_capture_on_commit_callbacks(execute=True):
        result = end_user_re_enroll(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    new = Authenticator.objects.get(pk=result.authenticator_id)
    assert (new.device_id, new.status) == (desk.phone.pk, "pending_activation")
    with django_capture_on_commit_callbacks(execute=True):
        activated = caller.perform("scan_qr_code", end_user_id=desk.end_user.pk)
    assert activated.ok, activated.message
    new.refresh_from_db()
    assert new.status == "active"


def test_re_enroll_skips_lost_phones_and_leaves_it_unbound_without_one(desk):
    verify_caller(desk)
    desk.phone.lost_at = clock.now()
    desk.phone.save(update_fields=["lost_at"])
    DeviceFactory(end_user=desk.end_user, name="Desk phone", platform="landline")

    result = end_user_re_enroll(actor=desk.technician, ticket=desk.ticket, reason=REASON)

    assert Authenticator.objects.get(pk=result.authenticator_id).device_id is None
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "pending_enrollment"
