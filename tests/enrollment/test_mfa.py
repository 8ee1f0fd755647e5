import dataclasses
from datetime import UTC, datetime

import pytest

from enrollment.mfa import (
    DeviceReport,
    MFAService,
    PushRequest,
    SignInAttempt,
    _service_for,
    get_mfa_service,
)
from tests.enrollment.recording_service import RecordingMFAService

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_service_cache():
    _service_for.cache_clear()
    yield
    _service_for.cache_clear()


def test_get_mfa_service_builds_the_configured_class_once(settings):
    settings.MFA_SERVICE = "tests.enrollment.recording_service.RecordingMFAService"

    first = get_mfa_service()

    assert type(first) is RecordingMFAService
    assert get_mfa_service() is first


def test_get_mfa_service_rejects_a_class_that_is_not_an_mfa_service(settings):
    settings.MFA_SERVICE = "tests.enrollment.recording_service.NotAService"

    with pytest.raises(TypeError) as error:
        get_mfa_service()

    assert str(error.value) == (
        "MFA_SERVICE 'tests.enrollment.recording_service.NotAService' "
        "is not an enrollment.mfa.MFAService subclass."
    )


def test_an_implementation_missing_methods_cannot_be_built():
    class Partial(MFAService):
        def now(self) -> datetime:
            return AT

    with pytest.raises(TypeError):
        Partial()


def test_port_values_are_frozen():
    report = DeviceReport(
        id=1,
        name="Dana's iPhone",
        platform="ios",
        os_version="17.4",
        app_version="4.80",
        last_seen_at=AT,
        push_capable=True,
        lost=False,
    )

    with pytest.raises(dataclasses.FrozenInstanceError):
        report.push_capable = False  # type: ignore[misc]


def test_sign_in_attempt_pending_and_success_flags():
    pending = SignInAttempt(
        id="a1",
        status="pending",
        result=None,
        reason=None,
        factor="push",
        device_id=3,
        application="VPN",
        created_at=AT,
    )
    succeeded = dataclasses.replace(
        pending, status="final", result="success", reason="user_approved"
    )
    denied = dataclasses.replace(pending, status="final", result="denied", reason="no_response")

    assert (pending.is_pending, pending.succeeded) == (True, False)
    assert (succeeded.is_pending, succeeded.succeeded) == (False, True)
    assert (denied.is_pending, denied.succeeded) == (False, False)


def test_push_request_defaults():
    push = PushRequest(id="p1", status="pending", device_id=3, context="Helpdesk", created_at=AT)

    assert push.is_pending is True
    assert push.resolved_at is None
    assert push.detail == ""


def test_register_bypass_codes_changed_is_optional():
    assert RecordingMFAService().register_bypass_codes_changed(end_user_id=1) is None
