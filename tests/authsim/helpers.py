"""Shared steps for authsim tests: load a bundled scenario, perform caller actions, and the
service-side fixes a technician or administrator would make."""

from authsim import caller
from authsim.models import SimDevice
from authsim.scenarios import SCENARIO_DIR, Scenario, read_scenario
from authsim.world import load_scenario
from enrollment.models import EndUser


def load(name: str) -> tuple[Scenario, EndUser]:
    scenario = read_scenario(SCENARIO_DIR / f"{name}.yaml")
    return scenario, load_scenario(scenario)


def act(action: str, user: EndUser, device_id: int | None = None, **kwargs) -> caller.ActionResult:
    result = caller.perform(action, end_user_id=user.pk, device_id=device_id, **kwargs)
    assert result.ok, f"{action}: {result.message}"
    return result


def new_phone(user: EndUser, *, platform: str = "ios", os_version: str = "17.4"):
    """The end user now holds a new, supported phone with the app installed."""
    from enrollment.models import Device

    device = Device.objects.create(
        end_user=user, name="New phone", platform=platform, os_version=os_version
    )
    SimDevice.objects.create(device=device, app_version=caller.LATEST_APP_VERSION)
    return device
