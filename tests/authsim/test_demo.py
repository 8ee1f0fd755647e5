import io

import pytest

from authsim.demo import seed_world
from authsim.models import Attempt, SimDevice
from enrollment.models import EndUser, Policy

pytestmark = pytest.mark.django_db


def _snapshot():
    return sorted(EndUser.objects.values_list("username", "status", "mobile").order_by("username"))


def test_seed_world_is_deterministic_and_replaces_its_users():
    out = io.StringIO()
    users = seed_world(stdout=out, users=40, seed=3)
    first = _snapshot()
    seed_world(stdout=io.StringIO(), users=40, seed=3)
    assert len(users) == 40
    assert _snapshot() == first
    assert EndUser.objects.count() == 40
    assert out.getvalue().startswith("Demo world: 40 end users in 11 groups")


def test_seed_world_spreads_faults_and_writes_history():
    seed_world(stdout=io.StringIO(), users=120, seed=7)
    statuses = set(EndUser.objects.values_list("status", flat=True))
    assert {"active", "pending_enrollment", "locked_out"} <= statuses
    assert SimDevice.objects.filter(notifications_enabled=False).exists()
    assert Attempt.objects.filter(reason="no_response").exists()
    assert Policy.objects.filter(scope="global").count() == 1
    # Every end user has at least one auth-log entry to show.
    assert Attempt.objects.values("end_user").distinct().count() == 120
