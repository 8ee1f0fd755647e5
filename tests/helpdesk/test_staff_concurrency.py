"""Owners deactivating each other at the same moment: the owners' rows are locked together,
so an active owner always remains."""

import threading

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.db import connection

from helpdesk.models import Staff
from helpdesk.services.staff import staff_deactivate

OWNERS = 6


@pytest.mark.postgres
@pytest.mark.skipif(not django_settings.USING_POSTGRES, reason="needs PostgreSQL row locking")
@pytest.mark.django_db(transaction=True)
def test_owners_deactivating_each_other_at_once_leave_an_active_owner():
    # Real commits, seen by each thread's own connection (the teardown flush empties the
    # tables again, see tests/conftest.py). Each owner deactivates the next, in a ring.
    owners = [Staff.objects.create(username=f"race-owner-{n}", role="owner") for n in range(OWNERS)]
    barrier = threading.Barrier(OWNERS)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def deactivate(actor: Staff, target: Staff) -> None:
        try:
            barrier.wait()
            try:
                staff_deactivate(actor=actor, target=target)
                result = "done"
            except PermissionDenied:
                result = "refused"
            with lock:
                outcomes.append(result)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=deactivate, args=(owner, owners[(n + 1) % OWNERS]))
        for n, owner in enumerate(owners)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    active = Staff.objects.filter(role="owner", is_active=True).count()
    assert active >= 1
    # Whoever was deactivated first could not go on to deactivate anyone.
    assert outcomes.count("done") == OWNERS - active
