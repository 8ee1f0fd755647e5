"""The device simulator's URLs in the permission matrix.

These pages stand in for end users' phones, not helpdesk data: any signed-in staff member may
use them, with no administrative-unit scope (so `scoped` is False and `ANY_STAFF` is right).
"""

from django.urls import reverse
from django.utils.html import escape

from tests.permission_matrix import ANY_STAFF, Entry


def _sim_user(world):
    """A simulated end user with a phone and a push waiting on it, built once per world."""
    cached = getattr(world, "_authsim_user", None)
    if cached is not None:
        return cached
    from authsim.models import Push
    from enrollment import clock
    from tests.authsim.factories import world as sim_world

    user = sim_world(username="matrix.sim.user")
    device = user.devices.get()
    now = clock.now()
    world._authsim_push = Push.objects.create(
        end_user=user,
        device=device,
        context="Matrix push",
        expires_at=now.replace(year=now.year + 1),
    )
    world._authsim_user = user
    return user


def _no_kwargs(world):
    _sim_user(world)  # so the list has a device to show
    return {}


def _device_kwargs(world):
    return {"device_id": _sim_user(world).devices.get().pk}


def _push_kwargs(world):
    _sim_user(world)
    return {"device_id": world._authsim_push.device_id, "push_id": world._authsim_push.pk}


def _lists_the_device(response, world, staff):
    assert "matrix.sim.user" in response.content.decode()


def _shows_the_device(response, world, staff):
    assert escape(_sim_user(world).devices.get().name) in response.content.decode()


def _back_to_device(response, world, staff):
    assert response["Location"] == reverse("authsim:device-detail", kwargs=_device_kwargs(world))


ENTRIES = [
    Entry("authsim:device-list", ANY_STAFF, kwargs=_no_kwargs, check=_lists_the_device),
    Entry("authsim:device-detail", ANY_STAFF, kwargs=_device_kwargs, check=_shows_the_device),
    # Without htmx the push URL sends the browser back to the device page.
    Entry(
        "authsim:device-push",
        ANY_STAFF,
        kwargs=_push_kwargs,
        ok_status=(302,),
        check=_back_to_device,
    ),
    Entry(
        "authsim:device-action",
        ANY_STAFF,
        method="post",
        kwargs=_device_kwargs,
        data=lambda world: {"action": "enable_notifications"},
        ok_status=(302,),
        check=_back_to_device,
    ),
    Entry(
        "authsim:device-sign-in",
        ANY_STAFF,
        method="post",
        kwargs=_device_kwargs,
        data=lambda world: {"factor": "auto", "application": "Matrix"},
        ok_status=(302,),
        check=_back_to_device,
    ),
]
