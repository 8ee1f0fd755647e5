from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from authsim.models import ProviderState
from authsim.scenarios import SCENARIO_DIR, bundled_scenarios, read_scenario
from enrollment import clock
from enrollment.models import EndUser, Policy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_bundled_scenario_loads(path: Path, capsys):
    call_command("load_scenario", str(path))
    scenario = read_scenario(path)
    assert EndUser.objects.get(username=scenario.user.username).status == scenario.user.status
    assert capsys.readouterr().out.startswith(f"Loaded {scenario.id} from {path}")


def test_bad_file_exits_with_file_key_and_expected(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\ncomplaint: missing_prompt\nuser: {username: x, mood: grumpy}\n")
    with pytest.raises(CommandError) as caught:
        call_command("load_scenario", str(path))
    assert str(caught.value).startswith(f"{path}: user.mood: no such key; expected one of")


def test_a_bad_file_among_several_changes_nothing(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ncomplaint: nope\nuser: {username: x}\n")
    with pytest.raises(CommandError):
        call_command("load_scenario", str(SCENARIO_DIR / "device-offline.yaml"), str(bad))
    assert EndUser.objects.count() == 0


def test_loading_resets_shared_state_first():
    call_command("load_scenario", str(SCENARIO_DIR / "sms-provider-unhealthy.yaml"))
    call_command("load_scenario", str(SCENARIO_DIR / "app-outdated.yaml"))
    clock.advance(timedelta(hours=3))
    call_command("load_scenario", str(SCENARIO_DIR / "device-offline.yaml"))
    state = ProviderState.current()
    assert (state.sms_healthy, state.sms_configured) == (True, True)
    # app-outdated's global policy is gone; device-offline sets none.
    assert Policy.objects.filter(scope="global").count() == 0
    assert clock.offset().total_seconds() == 0


def test_loading_twice_gives_the_same_world():
    path = str(SCENARIO_DIR / "duplicate-authenticator-name.yaml")
    call_command("load_scenario", path)
    call_command("load_scenario", path)
    user = EndUser.objects.get(username="ivan.petrov")
    assert (user.devices.count(), user.authenticators.count(), user.enrollments.count()) == (
        2,
        2,
        1,
    )
