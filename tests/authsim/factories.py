"""Test worlds for the simulator, built the way scenario files build them.

`world(...)` takes scenario sections as keyword arguments (any key of scenarios.md) and
loads them: one call gives an end user with devices, authenticators, enrollment, policies and
provider faults, deterministic and with no hidden side effects beyond what loading does.
"""

import itertools

import factory

from authsim.models import SimDevice
from authsim.scenarios import parse_scenario
from authsim.world import load_scenario
from enrollment.models import EndUser
from tests.factories import DeviceFactory

_numbers = itertools.count(1)


def world(*, username: str | None = None, user: dict | None = None, **sections) -> EndUser:
    n = next(_numbers)
    user_spec = {"username": username or f"sim.user{n}", "full_name": f"Sim User{n}"}
    user_spec.setdefault("email", f"sim.user{n}@example.com")
    user_spec.setdefault("mobile", "+14155550100")
    user_spec.update(user or {})
    data = {"id": f"test-world-{n}", "complaint": "missing_prompt", "user": user_spec, **sections}
    return load_scenario(parse_scenario(data, source=f"<test world {n}>"))


class SimDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimDevice

    device = factory.SubFactory(DeviceFactory)
    app_version = "4.80"
