"""The device simulator's URLs in the permission matrix.

They follow the rules of every page about an end user: scoped to administrative units (an
outsider gets 404), reading a device needs VIEW_TICKETS (every role), acting on it needs
OPERATE_DEVICES (the roles that work tickets), and only those see the app's code.
"""

from django.urls import reverse
from django.utils.html import escape

from helpdesk.roles import Capability, Role, capabilities_of
from tests.permission_matrix import ALL_ROLES, Entry, roles

OPERATORS = roles(*(r for r in Role.values if Capability.OPERATE_DEVICES in capabilities_of(r)))


def _sim_user(world):
    """A simulated end user in the personas' unit, with a phone and a push waiting on it,
    built once per world."""
    cached = getattr(world, "_authsim_user", None)
    if cached is not None:
        return cached
    from authsim.models import Push
    from enrollment import clock
    from tests.authsim.factories import world as sim_world

    user = sim_world(username="matrix.sim.user")
    user.groups.add(world.in_scope_group)
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
    html = response.content.decode()
    assert escape(_sim_user(world).devices.get().name) in html
    # The app's live code is the caller's secret: only roles that may act see it.
    assert ('aria-label="Authenticator app code"' in html) is (staff.role in OPERATORS)


def _back_to_device(response, world, staff):
    assert response["Location"] == reverse("authsim:device-detail", kwargs=_device_kwargs(world))


ENTRIES = [
    Entry("authsim:device-list", ALL_ROLES, kwargs=_no_kwargs, check=_lists_the_device),
    Entry(
        "authsim:device-detail",
        ALL_ROLES,
        kwargs=_device_kwargs,
        check=_shows_the_device,
        scoped=True,
    ),
    # Without htmx the push URL sends the browser back to the device page.
    Entry(
        "authsim:device-push",
        ALL_ROLES,
        kwargs=_push_kwargs,
        ok_status=(302,),
        check=_back_to_device,
        scoped=True,
    ),
    Entry(
        "authsim:device-action",
        OPERATORS,
        method="post",
        kwargs=_device_kwargs,
        data=lambda world: {"action": "enable_notifications"},
        ok_status=(302,),
        check=_back_to_device,
        scoped=True,
    ),
    Entry(
        "authsim:device-sign-in",
        OPERATORS,
        method="post",
        kwargs=_device_kwargs,
        data=lambda world: {"factor": "auto", "application": "Matrix"},
        ok_status=(302,),
        check=_back_to_device,
        scoped=True,
    ),
]
