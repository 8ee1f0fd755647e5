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


def _two_groups(tmp_path: Path, sales_priority: str, contractors_priority: str) -> Path:
    path = tmp_path / "two-groups.yaml"
    path.write_text(
        "id: two-groups\ncomplaint: code_rejected\n"
        "user: {username: lee.park, groups: [Sales, Contractors]}\n"
        "policies:\n"
        f"  - {{scope: 'group:Sales', {sales_priority}code_timeout_seconds: 60,"
        " allow_fallback: false}\n"
        f"  - {{scope: 'group:Contractors', {contractors_priority}code_timeout_seconds: 600}}\n"
    )
    return path


@pytest.mark.parametrize(
    ("sales", "contractors", "timeout", "timeout_from"),
    [
        ("priority: 10, ", "priority: 20, ", 60, "group:Sales"),
        ("priority: 30, ", "priority: 20, ", 600, "group:Contractors"),
        # A tie (both default to 100) goes to the group whose name sorts first.
        ("", "", 600, "group:Contractors"),
    ],
)
def test_group_policies_rank_by_priority_then_name(
    tmp_path: Path, sales, contractors, timeout, timeout_from
):
    from enrollment.policy import effective_policy

    call_command("load_scenario", str(_two_groups(tmp_path, sales, contractors)))

    policy = effective_policy(EndUser.objects.get(username="lee.park"), None)
    assert policy.code_timeout_seconds.value == timeout
    assert timeout_from in policy.code_timeout_seconds.source
    # A setting only one group policy sets comes from it, whatever the ranking.
    assert policy.allow_fallback.value is False
    assert "Sales" in policy.allow_fallback.source


def test_a_bad_priority_names_file_key_and_expected(tmp_path: Path):
    path = tmp_path / "bad-priority.yaml"
    path.write_text(
        "id: bad-priority\ncomplaint: code_rejected\nuser: {username: x}\n"
        "policies: [{scope: 'group:Sales', priority: first}]\n"
    )
    with pytest.raises(CommandError) as caught:
        call_command("load_scenario", str(path))
    assert str(caught.value) == f"{path}: policies[0].priority: expected a whole number"
