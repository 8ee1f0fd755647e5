from datetime import timedelta

import pytest

from enrollment import clock
from enrollment.enums import AuthenticatorStatus, EnrollmentStage, Method, UserStatus
from enrollment.models import Authenticator, Device, EndUser, Enrollment, Group
from tests.factories import (
    AuthenticatorFactory,
    DeviceFactory,
    EndUserFactory,
    EnrollmentFactory,
    GroupFactory,
)

pytestmark = pytest.mark.django_db


def test_directory_rows_save_and_read_back():
    sales = GroupFactory(name="Sales")
    user = EndUserFactory(username="dana.lee", full_name="Dana Lee", groups=[sales])
    device = DeviceFactory(end_user=user, name="Dana's iPhone", platform="ios")
    authenticator = AuthenticatorFactory(end_user=user, device=device, method=Method.PUSH)
    EnrollmentFactory(end_user=user, authenticator=authenticator, stage=EnrollmentStage.VERIFIED)

    stored = EndUser.objects.get(username="dana.lee")
    assert stored.full_name == "Dana Lee"
    assert stored.status == UserStatus.ACTIVE
    assert list(stored.groups.values_list("name", flat=True)) == ["Sales"]
    assert list(Device.objects.filter(end_user=stored).values_list("name", flat=True)) == [
        "Dana's iPhone"
    ]
    assert Authenticator.objects.get().status == AuthenticatorStatus.ACTIVE
    assert Enrollment.objects.get().stage == "verified"
    assert str(stored) == "dana.lee"
    assert str(Group.objects.get()) == "Sales"


def test_malformed_contact_attributes_are_stored_as_given():
    user = EndUserFactory(username="ali", mobile="4155550123x", email="not-an-email")

    user.refresh_from_db()

    assert user.mobile == "4155550123x"
    assert user.email == "not-an-email"


def test_is_privileged_from_flag_or_privileged_group():
    admins = GroupFactory(name="Admins", privileged=True)
    sales = GroupFactory(name="Sales")

    assert EndUserFactory(username="a", privileged=True).is_privileged is True
    assert EndUserFactory(username="b", groups=[admins, sales]).is_privileged is True
    assert EndUserFactory(username="c", groups=[sales]).is_privileged is False


def test_timestamps_come_from_the_simulated_clock():
    clock.advance(timedelta(days=3))
    before = clock.now()

    enrollment = EnrollmentFactory()

    assert enrollment.started_at >= before
    assert enrollment.updated_at >= enrollment.started_at
    assert enrollment.started_at - before < timedelta(seconds=5)


def test_the_directory_knows_every_reason_the_simulator_reports():
    from authsim import vocab
    from enrollment.enums import AuthReason

    assert set(vocab.REASONS) == set(AuthReason.values)
