"""Bypass codes: shown once and kept nowhere, hashed, single use (also under concurrency),
capped by settings, expiring on their own."""

import json
import logging
import threading
from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.conf import settings as django_settings
from django.db import connection

from authsim.models import Delivery
from enrollment import clock
from enrollment.models import BypassCode, EndUser
from enrollment.services import (
    RecoveryRefused,
    bypass_code_issue,
    bypass_code_redeem,
    bypass_codes_revoke,
    bypass_statuses_refresh,
)
from enrollment.services.bypass import bypass_code_hash, bypass_code_matches
from enrollment.tasks import expire_bypass_codes
from helpdesk.models import TicketEvent
from tests.enrollment.recovery_helpers import (  # noqa: F401 - fixtures
    build_desk,
    desk_fixture,
    verify_caller,
)

REASON = "Phone in for repair, caller verified by callback"


def issue(desk, **kwargs):
    verify_caller(desk)
    return bypass_code_issue(actor=desk.technician, ticket=desk.ticket, reason=REASON, **kwargs)


@pytest.mark.django_db
def test_code_is_at_least_nine_digits_and_stored_only_as_a_salted_hash(desk, settings):
    settings.BYPASS_CODE_DIGITS = 6  # below the floor: still nine

    result = issue(desk)

    (code,) = result.codes
    row = BypassCode.objects.get()
    assert (len(code), code.isdigit()) == (9, True)
    assert row.code_hash.startswith("scrypt$16384$8$1$")
    assert code not in row.code_hash
    assert bypass_code_matches(code, row.code_hash) is True
    # Salted: the same code never hashes the same way twice.
    assert bypass_code_hash(code) != bypass_code_hash(code)
    assert (row.created_by, row.reason, row.end_user) == (desk.technician, REASON, desk.end_user)
    assert code not in repr(result)


@pytest.mark.django_db
def test_issue_defaults_to_one_code_for_sixty_minutes_and_sets_bypass_status(desk):
    result = issue(desk)

    row = BypassCode.objects.get()
    assert row.expires_at - row.created_at == timedelta(minutes=60)
    assert result.expires_at == row.expires_at
    assert result.code_ids == (row.pk,)
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "bypass"


@pytest.mark.django_db
def test_code_never_reaches_events_logs_task_arguments_or_the_notice(
    caplog, desk, django_capture_on_commit_callbacks
):
    task_kwargs: list[dict] = []

    def remember(sender=None, args=None, kwargs=None, **extra):
        task_kwargs.append({"task": sender.name, "args": args, "kwargs": kwargs})

    task_prerun.connect(remember, weak=False)
    try:
        with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
            result = issue(desk, count=2)
    finally:
        task_prerun.disconnect(remember)

    payloads = json.dumps(list(TicketEvent.objects.values_list("payload", flat=True)))
    notices = list(Delivery.objects.filter(end_user=desk.end_user, kind="notice"))
    ours = [t for t in task_kwargs if t["task"].startswith("enrollment.")]
    assert [t["kwargs"].keys() for t in ours] == [{"event_id": 0}.keys()]
    assert len(notices) == 1
    for code in result.codes:
        assert code not in payloads
        assert code not in caplog.text
        assert code not in json.dumps(task_kwargs, default=str)
        assert code not in notices[0].body
        assert code not in notices[0].subject


@pytest.mark.django_db
def test_redeem_accepts_a_code_once(desk):
    (code,) = issue(desk).codes

    first = bypass_code_redeem(end_user_id=desk.end_user.pk, code=code)
    second = bypass_code_redeem(end_user_id=desk.end_user.pk, code=code)

    assert (first, second) == (True, False)
    assert BypassCode.objects.get().used_at is not None


@pytest.mark.django_db
def test_redeem_tolerates_spaces_and_dashes_the_caller_reads_out(desk):
    (code,) = issue(desk).codes

    assert bypass_code_redeem(
        end_user_id=desk.end_user.pk, code=f"{code[:3]} {code[3:6]}-{code[6:]}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("wrong", ["", "abc", "000000000", "1" * 40])
def test_redeem_refuses_a_wrong_code(desk, wrong):
    issue(desk)

    assert bypass_code_redeem(end_user_id=desk.end_user.pk, code=wrong) is False
    assert BypassCode.objects.get().used_at is None


@pytest.mark.django_db
def test_redeem_refuses_another_users_code(desk):
    (code,) = issue(desk).codes
    other = EndUser.objects.create(username="someone.else")

    assert bypass_code_redeem(end_user_id=other.pk, code=code) is False


@pytest.mark.django_db
def test_code_expires_after_sixty_minutes(desk):
    (code,) = issue(desk).codes
    clock.advance(timedelta(minutes=60))

    assert bypass_code_redeem(end_user_id=desk.end_user.pk, code=code) is False


@pytest.mark.django_db
def test_lifetime_is_chosen_within_the_maximum(desk, settings):
    settings.BYPASS_CODE_MAX_MINUTES = 120

    issue(desk, valid_minutes=120)
    with pytest.raises(RecoveryRefused) as refused:
        issue(desk, valid_minutes=121)

    assert (refused.value.guard, str(refused.value)) == (
        "bypass_code_lifetime",
        "A bypass code may live between 1 and 120 minutes.",
    )


@pytest.mark.django_db
def test_count_per_issue_is_capped(desk, settings):
    settings.BYPASS_CODES_PER_ISSUE_MAX = 2

    with pytest.raises(RecoveryRefused) as refused:
        issue(desk, count=3)

    assert str(refused.value) == "Issue between 1 and 2 codes at a time."
    assert BypassCode.objects.count() == 0
    assert desk.last_event().payload["outcome"] == "refused"


@pytest.mark.django_db
def test_usable_codes_per_user_are_capped(desk, settings):
    settings.BYPASS_CODES_ACTIVE_MAX = 3
    issue(desk, count=2)

    with pytest.raises(RecoveryRefused) as refused:
        issue(desk, count=2)

    assert refused.value.guard == "bypass_code_cap"
    assert str(refused.value) == (
        "dana.lee already holds 2 usable bypass code(s); at most 3 may be usable at once. "
        "Revoke them first or issue fewer."
    )
    assert BypassCode.objects.count() == 2


@pytest.mark.django_db
def test_revoke_makes_codes_unusable_and_ends_bypass_status(desk):
    (code,) = issue(desk).codes

    revoked = bypass_codes_revoke(actor=desk.technician, ticket=desk.ticket, reason="Phone back")

    assert revoked == 1
    assert bypass_code_redeem(end_user_id=desk.end_user.pk, code=code) is False
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "active"
    assert desk.last_event().payload["target"] == {"revoked": 1}


@pytest.mark.django_db
def test_using_the_last_code_ends_bypass_status(desk):
    first, second = issue(desk, count=2).codes

    bypass_code_redeem(end_user_id=desk.end_user.pk, code=first)
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "bypass"
    bypass_code_redeem(end_user_id=desk.end_user.pk, code=second)

    assert EndUser.objects.get(pk=desk.end_user.pk).status == "active"


@pytest.mark.django_db
def test_expired_codes_end_bypass_status_through_the_periodic_task(desk):
    issue(desk)
    assert bypass_statuses_refresh() == []
    clock.advance(timedelta(minutes=61))

    assert expire_bypass_codes() == 1
    assert EndUser.objects.get(pk=desk.end_user.pk).status == "active"
    assert expire_bypass_codes() == 0


@pytest.mark.django_db
def test_user_without_active_authenticator_leaves_bypass_as_pending_enrollment(desk):
    issue(desk)
    desk.push.status = "revoked"
    desk.push.save(update_fields=["status"])
    clock.advance(timedelta(minutes=61))

    bypass_statuses_refresh()

    assert EndUser.objects.get(pk=desk.end_user.pk).status == "pending_enrollment"


@pytest.mark.postgres
@pytest.mark.skipif(not django_settings.USING_POSTGRES, reason="needs PostgreSQL row locking")
def test_concurrent_redemptions_of_one_code_succeed_exactly_once(
    django_db_setup, django_db_blocker
):
    # Real commits, seen by every thread's own connection. pytest-django's transactional
    # flush would TRUNCATE the append-only event table (refused by its trigger), so this
    # test commits only an end user and a code, and deletes them itself.
    threads_count = 8
    code = "123456789"
    with django_db_blocker.unblock():
        clock.reset()
        end_user = EndUser.objects.create(username="race.runner", status="bypass")
        BypassCode.objects.create(
            end_user=end_user,
            code_hash=bypass_code_hash(code),
            expires_at=clock.now() + timedelta(minutes=60),
        )
        barrier = threading.Barrier(threads_count)
        results: list[bool] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def redeem() -> None:
            try:
                barrier.wait()
                outcome = bypass_code_redeem(end_user_id=end_user.pk, code=code)
                with lock:
                    results.append(outcome)
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        try:
            threads = [threading.Thread(target=redeem) for _ in range(threads_count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert errors == []
            assert sorted(results) == [False] * (threads_count - 1) + [True]
            assert BypassCode.objects.filter(used_at__isnull=False).count() == 1
            assert EndUser.objects.get(pk=end_user.pk).status == "pending_enrollment"
        finally:
            end_user.delete()
