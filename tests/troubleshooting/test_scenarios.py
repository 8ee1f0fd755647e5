"""The shipped playbooks worked end to end over the bundled enrollment and prompt scenarios:
real checks through the port, the simulated end user answering and acting, real recovery
services on a real ticket, and a real sign-in at every verify."""

import pytest

from authsim.scenarios import bundled_scenarios, read_scenario
from tests.authsim.helpers import load
from tests.troubleshooting.scenario_driver import work_case
from troubleshooting.conf import playbook_dir
from troubleshooting.schema import load_playbook
from troubleshooting.vocab import RESOLVED_OUTCOMES

pytestmark = pytest.mark.django_db

CASES = sorted(
    path.stem
    for path in bundled_scenarios()
    if read_scenario(path).complaint in ("enrollment_failure", "missing_prompt")
)

# Cases fixed by a guarded service action on the directory record, with the caller's
# identity verified right before it: scenario -> the action node that fixes its root cause.
GUARDED_FIXES = {
    "invalid-token-serial": "correct_serial",
    "otp-channel-unavailable": "add_mobile",
}


def _bypass_nodes(playbook_id: str) -> set[str]:
    definition = load_playbook(playbook_dir() / f"{playbook_id}.yaml")
    return {
        node.id for node in definition.nodes if getattr(node, "action", None) == "issue_bypass_code"
    }


@pytest.mark.parametrize("name", CASES)
def test_playbook_reaches_the_expected_root_cause_and_outcome(
    name, owner, supervisor, django_capture_on_commit_callbacks
):
    scenario, user = load(name)

    state, driver = work_case(
        scenario.complaint,
        end_user=user,
        application=scenario.application,
        actor=owner,
        supervisor=supervisor,
        on_commit=django_capture_on_commit_callbacks,
    )

    path = " -> ".join(f"{s.node}[{s.branch}]" for s in driver.steps)
    assert (scenario.expected.root_cause in state.root_causes, state.outcome) == (
        True,
        scenario.expected.outcome,
    ), f"{state.root_causes} via {path}"
    if state.outcome in RESOLVED_OUTCOMES:
        assert state.verified_sign_in is True
    if state.outcome != "bypass_issued":
        bypasses = _bypass_nodes(scenario.complaint)
        assert not [s for s in driver.steps if s.node in bypasses and s.branch == "done"], path


@pytest.mark.parametrize("name", sorted(GUARDED_FIXES))
def test_directory_corrections_come_right_after_identity_and_restore_the_method(
    name, owner, supervisor, django_capture_on_commit_callbacks
):
    scenario, user = load(name)

    state, driver = work_case(
        scenario.complaint,
        end_user=user,
        application=scenario.application,
        actor=owner,
        supervisor=supervisor,
        on_commit=django_capture_on_commit_callbacks,
    )

    taken = [(step.node, step.branch) for step in driver.steps]
    fix = taken.index((GUARDED_FIXES[name], "done"))
    verified = [i for i, (_, branch) in enumerate(taken) if branch == "verified"]
    assert verified
    assert verified[-1] < fix  # the caller's identity, before the correction
    assert taken[fix + 1][1] == "success"  # proved by a real sign-in straight after
    assert (state.outcome, state.verified_sign_in, list(state.root_causes)) == (
        "enrolled",
        True,
        [scenario.expected.root_cause],
    )


def test_an_old_phone_system_is_fixed_by_a_system_update_not_a_new_method(
    owner, supervisor, django_capture_on_commit_callbacks
):
    scenario, user = load("device-incompatible")

    state, driver = work_case(
        scenario.complaint,
        end_user=user,
        application=scenario.application,
        actor=owner,
        supervisor=supervisor,
        on_commit=django_capture_on_commit_callbacks,
    )

    taken = [(step.node, step.branch) for step in driver.steps]
    assert ("update_os", "done") in taken
    assert not any(node.startswith("reenroll") for node, _ in taken)
    assert (state.outcome, list(state.root_causes)) == ("enrolled", ["device_incompatible"])
    user.refresh_from_db()
    assert user.devices.get().os_version == "15"
