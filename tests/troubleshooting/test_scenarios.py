"""The shipped playbooks worked end to end over the bundled enrollment and prompt scenarios:
real checks through the port, the simulated end user answering and acting, real recovery
services on a real ticket, and a real sign-in at every verify."""

import pytest

from authsim.scenarios import bundled_scenarios, read_scenario
from tests.authsim.helpers import load
from tests.troubleshooting.scenario_driver import work_case
from troubleshooting.vocab import RESOLVED_OUTCOMES

pytestmark = pytest.mark.django_db

CASES = sorted(
    path.stem
    for path in bundled_scenarios()
    if read_scenario(path).complaint in ("enrollment_failure", "missing_prompt")
)

# Cases whose fix is a re-enrollment the simulator cannot complete: re-enrollment binds the
# new authenticator to the phone the end user still holds, but these callers need a new
# phone (an OS below the policy's minimum), a re-registered hardware token (re-enrollment
# starts an app instead) or a phone at all (none on record) — nothing a caller action
# provides. These sessions end in the playbook's last recovery: the diagnosed root cause
# named, identity verified before the guarded fix, and access restored by a bypass code
# verified with a real sign-in. (authenticator-disabled re-enrolls on the user's phone.)
# scenario -> the re-enrollment node that fixes its root cause
REENROLLMENT_GAP = {
    "device-incompatible": "reenroll_incompatible",
    "invalid-token-serial": "reenroll_serial",
    "otp-channel-unavailable": "reenroll_channel",
}


@pytest.mark.parametrize("name", sorted(set(CASES) - set(REENROLLMENT_GAP)))
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


@pytest.mark.parametrize("name", sorted(REENROLLMENT_GAP))
def test_reenrollment_cases_reach_the_guarded_fix_then_a_verified_bypass(
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
    fix = taken.index((REENROLLMENT_GAP[name], "done"))
    assert fix > 0
    assert taken[fix - 1][1] == "verified"  # the caller's identity, right before
    assert (state.outcome, state.verified_sign_in) == ("bypass_issued", True)
    assert state.root_causes[0] == scenario.expected.root_cause
    assert taken[-1] == ("verify_bypass", "success")
