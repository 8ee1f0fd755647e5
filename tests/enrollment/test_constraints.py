"""The directory's rules that the database itself enforces."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from enrollment import clock
from enrollment.models import (
    ActivationLink,
    Authenticator,
    BypassCode,
    ClockOffset,
    Device,
    EndUser,
    Enrollment,
    EnrollmentLink,
    Policy,
)
from tests.factories import (
    ApplicationFactory,
    AuthenticatorFactory,
    EndUserFactory,
    GroupFactory,
    PolicyFactory,
)

pytestmark = pytest.mark.django_db


@contextmanager
def violates(constraint: str):
    """Expects the block to break `constraint`. SQLite names check constraints but reports
    unique ones by column, so the name is compared where the database gives it."""
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        yield
    if settings.USING_POSTGRES or "CHECK" in str(error.value):
        assert constraint in str(error.value)


@pytest.mark.parametrize(
    ("scope", "with_application", "with_group"),
    [
        ("global", True, False),
        ("global", False, True),
        ("application", False, False),
        ("application", True, True),
        ("group", False, False),
        ("group", True, True),
        ("everyone", False, False),
    ],
)
def test_policy_target_must_match_its_scope(scope, with_application, with_group):
    application = ApplicationFactory(name="VPN") if with_application else None
    group = GroupFactory(name="Sales") if with_group else None

    with violates("policy_scope_matches_target"):
        Policy.objects.create(scope=scope, application=application, group=group)


def test_policy_targets_matching_their_scope_are_accepted():
    PolicyFactory(scope="global")
    PolicyFactory(scope="application", application=ApplicationFactory(name="VPN"))
    PolicyFactory(scope="group", group=GroupFactory(name="Sales"))

    assert sorted(str(policy) for policy in Policy.objects.all()) == [
        "application:VPN",
        "global",
        "group:Sales",
    ]


def test_at_most_one_global_policy():
    PolicyFactory(scope="global")

    with violates("policy_single_global"):
        Policy.objects.create(scope="global")


def test_at_most_one_policy_per_application():
    vpn = ApplicationFactory(name="VPN")
    PolicyFactory(scope="application", application=vpn)
    PolicyFactory(scope="application", application=ApplicationFactory(name="Mail"))

    with violates("policy_one_per_application"):
        Policy.objects.create(scope="application", application=vpn)


def test_at_most_one_policy_per_group():
    sales = GroupFactory(name="Sales")
    PolicyFactory(scope="group", group=sales)

    with violates("policy_one_per_group"):
        Policy.objects.create(scope="group", group=sales, priority=5)


def test_policy_limit_and_unlimited_are_exclusive():
    with violates("policy_attempts_limit_or_unlimited"):
        Policy.objects.create(
            scope="global", max_invalid_attempts=3, max_invalid_attempts_unlimited=True
        )


def test_policy_limit_of_zero_attempts_is_refused():
    with violates("policy_attempts_at_least_one"):
        Policy.objects.create(scope="global", max_invalid_attempts=0)


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("enforcement", "sometimes", "policy_enforcement_valid"),
        ("default_method", "carrier_pigeon", "policy_default_method_valid"),
    ],
)
def test_policy_vocabularies_are_enforced(field, value, constraint):
    with violates(constraint):
        Policy.objects.create(scope="global", **{field: value})


def test_end_user_username_is_unique_and_not_blank():
    EndUserFactory(username="dana")

    with violates("username"):
        EndUser.objects.create(username="dana")
    with violates("enduser_username_not_blank"):
        EndUser.objects.create(username="")


def test_end_user_status_is_enforced():
    with violates("enduser_status_valid"):
        EndUser.objects.create(username="x", status="asleep")


def test_device_platform_is_enforced():
    with violates("device_platform_valid"):
        Device.objects.create(end_user=EndUserFactory(), name="Pager", platform="pager")


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("method", "carrier_pigeon", "authenticator_method_valid"),
        ("status", "sleeping", "authenticator_status_valid"),
    ],
)
def test_authenticator_vocabularies_are_enforced(field, value, constraint):
    values = {"method": "push", "status": "active", field: value}

    with violates(constraint):
        Authenticator.objects.create(end_user=EndUserFactory(), **values)


def test_token_serial_is_unique_among_live_authenticators():
    AuthenticatorFactory(method="hotp_token", device=None, serial="TK-1001")

    with violates("authenticator_serial_unique_live"):
        Authenticator.objects.create(
            end_user=EndUserFactory(), method="hotp_token", status="disabled", serial="TK-1001"
        )


def test_a_revoked_tokens_serial_can_be_reissued():
    AuthenticatorFactory(method="hotp_token", device=None, serial="TK-1001", status="revoked")
    AuthenticatorFactory(method="hotp_token", device=None, serial="TK-1001", status="revoked")

    AuthenticatorFactory(method="hotp_token", device=None, serial="TK-1001", status="active")

    assert Authenticator.objects.filter(serial="TK-1001").count() == 3


def test_authenticators_without_serial_are_not_unique():
    AuthenticatorFactory(serial=None)
    AuthenticatorFactory(serial=None)

    assert Authenticator.objects.filter(serial__isnull=True).count() == 2


def test_remaining_codes_only_on_backup_codes():
    AuthenticatorFactory(method="backup_codes", device=None, remaining_codes=10)

    with violates("authenticator_codes_only_backup"):
        Authenticator.objects.create(
            end_user=EndUserFactory(), method="totp", status="active", remaining_codes=10
        )


def test_enrollment_stage_and_error_vocabularies_are_enforced():
    user = EndUserFactory()

    with violates("enrollment_stage_valid"):
        Enrollment.objects.create(end_user=user, stage="halfway")
    with violates("enrollment_error_valid"):
        Enrollment.objects.create(end_user=user, error="gremlins")


def test_only_an_activated_or_verified_enrollment_has_a_completion_time():
    user = EndUserFactory()
    Enrollment.objects.create(end_user=user, stage="verified", completed_at=clock.now())

    with violates("enrollment_completed_only_when_done"):
        Enrollment.objects.create(end_user=user, stage="code_scanned", completed_at=clock.now())


def test_links_and_codes_must_expire_after_they_are_created():
    user = EndUserFactory()
    authenticator = AuthenticatorFactory(end_user=user)
    now = clock.now()

    with violates("enrollmentlink_enroll_by_after_created"):
        EnrollmentLink.objects.create(end_user=user, created_at=now, enroll_by=now)
    with violates("activationlink_expires_after_created"):
        ActivationLink.objects.create(
            authenticator=authenticator, created_at=now, expires_at=now - timedelta(hours=1)
        )
    with violates("bypasscode_expires_after_created"):
        BypassCode.objects.create(end_user=user, code_hash="x", created_at=now, expires_at=now)


def test_bypass_code_needs_a_hash_and_reports_usability():
    user = EndUserFactory()
    now = clock.now()
    code = BypassCode.objects.create(
        end_user=user, code_hash="pbkdf2$...", created_at=now, expires_at=now + timedelta(hours=1)
    )

    assert code.is_usable(now) is True
    assert code.is_usable(now + timedelta(hours=1)) is False
    with violates("bypasscode_hash_not_blank"):
        BypassCode.objects.create(
            end_user=user, code_hash="", created_at=now, expires_at=now + timedelta(hours=1)
        )


def test_the_clock_has_a_single_row():
    clock.advance(timedelta(seconds=1))

    with violates("clockoffset_single_row"):
        ClockOffset.objects.create(pk=2)


def test_deleting_a_device_keeps_its_authenticators():
    authenticator = AuthenticatorFactory()

    authenticator.device.delete()

    authenticator.refresh_from_db()
    assert authenticator.device_id is None
