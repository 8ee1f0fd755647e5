"""The code playbooks (code_rejected, code_not_received): they lint clean, every enumerated
path walks to its end through the engine, recovery comes after verified identity and only
once no fix restored the caller's own method, and their scenarios reach the expected root
cause and outcome through simulate_case."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from authsim.models import SimDevice
from authsim.scenarios import SCENARIO_DIR, read_scenario
from authsim.world import load_scenario
from enrollment.models import Device
from tests.troubleshooting.playbook_helpers import definition, paths
from troubleshooting import conf, engine
from troubleshooting.checks import CheckContext, run_check
from troubleshooting.lint import lint_paths
from troubleshooting.management.commands.simulate_case import AutomatedCaller
from troubleshooting.schema import ActionNode, EndNode, SubflowNode
from troubleshooting.simulation import simulation_staff, work_case
from troubleshooting.vocab import RESOLVED_OUTCOMES

PLAYBOOKS = ("code_rejected", "code_not_received")

CODE_CAUSES = {
    "clock_skew",
    "sms_provider_unconfigured",
    "sms_provider_unhealthy",
    "sms_rate_limited",
    "phone_number_invalid",
    "carrier_delay",
    "email_code_filtered",
    "code_expired",
}
# Faults the desk cannot repair: never a reason for a recovery action.
NOT_THE_DESKS = {
    "sms_provider_unconfigured",
    "sms_provider_unhealthy",
    "sms_rate_limited",
    "phone_number_invalid",
    "carrier_delay",
}
SCENARIOS = sorted(
    path.stem
    for pattern in ("*-cr.yaml", "*-cnr.yaml")
    for path in SCENARIO_DIR.glob(pattern)
    if read_scenario(path).complaint in PLAYBOOKS
)


# --- The playbooks as data --------------------------------------------------------------


@pytest.mark.parametrize("playbook_id", PLAYBOOKS)
def test_playbook_lints_clean_and_serves_its_complaint(playbook_id):
    report = lint_paths([conf.playbook_dir() / f"{playbook_id}.yaml"])

    assert [str(finding) for finding in report.findings] == []
    assert definition(playbook_id).complaint == playbook_id


@pytest.mark.parametrize("playbook_id", PLAYBOOKS)
def test_every_enumerated_path_walks_to_its_end(playbook_id):
    """Replays each path through engine.step as a driver would, and checks what the session
    would record at its end."""
    d = definition(playbook_id)
    walked = 0
    for path in paths(playbook_id):
        state = engine.start(d, {"complaint": playbook_id, "application": None})
        for node_id, label in path.steps:
            if label == engine.EXHAUSTED:
                continue
            assert state.node == node_id
            node = d.node(node_id)
            named = ("carrier_delay",) if isinstance(node, SubflowNode) else ()
            state = engine.step(d, state, engine.first_branch(label), named_causes=named)
        end = d.node(path.end)
        assert state.finished is True
        assert state.node == path.end
        assert state.outcome == end.outcome
        if end.outcome in RESOLVED_OUTCOMES:
            assert state.verified_sign_in is True, path
            assert state.root_causes != (), path
            assert state.pending_fixes == (), path
        walked += 1
    assert walked == len(paths(playbook_id)) > 20


def _actions_taken(playbook_id: str, path) -> list[str]:
    d = definition(playbook_id)
    return [
        d.node(node_id).action
        for node_id, label in path.steps
        if isinstance(d.node(node_id), ActionNode) and engine.first_branch(label) == "done"
    ]


def test_the_two_playbooks_name_every_code_root_cause():
    causes: set[str] = set()
    for playbook_id in PLAYBOOKS:
        for node in definition(playbook_id).nodes:
            causes |= set(getattr(node, "fixes", ()))
            if isinstance(node, EndNode):
                causes |= set(node.root_causes)

    assert CODE_CAUSES - causes == set()


def test_codes_rejected_tries_every_fix_before_re_enrolling_and_re_enrolls_before_a_bypass():
    d = definition("code_rejected")
    for path in paths("code_rejected"):
        nodes = [node for node, _ in path.steps]
        actions = _actions_taken("code_rejected", path)
        if "issue_bypass_code" in actions:
            # Re-enrollment was tried (or could not run) before any bypass.
            assert {"reenroll", "reenroll_disabled"} & set(nodes), path
        if "reenroll" in nodes:
            # Only after a fix for the rejected code was attempted.
            assert {"app_time", "resync_app", "resync_token", "prompt_entry"} & set(nodes) or (
                ("rejection", "backup_code") in path.steps
            ), path
        if ("rejection", "app_code") in path.steps:
            after = nodes[nodes.index("rejection") + 1]
            assert after == "app_time"  # the phone's clock first, then a resynchronisation
    assert d.node("app_time").not_done == "resync_app"
    assert d.node("verify_app").outcomes["denied"] == "resync_app"
    assert (d.node("resync_app").action, d.node("resync_token").action) == (
        "resync_token",
        "resync_token",
    )
    assert d.node("verify_unlocked").outcomes["denied"] == "rejection"


def test_codes_not_received_never_recovers_around_a_fault_the_desk_cannot_fix():
    """A provider, a carrier, a sending limit or a malformed number of record: another
    method the policy allows, or an escalation naming the fault — never a bypass."""
    d = definition("code_not_received")
    for path in paths("code_not_received"):
        end = d.node(path.end)
        if set(end.root_causes) & NOT_THE_DESKS:
            assert "issue_bypass_code" not in _actions_taken("code_not_received", path), path
            assert end.outcome in ("code_accepted", "escalated_tier2"), path
            if end.outcome == "code_accepted":
                assert any(node.startswith("alt_") for node, _ in path.steps), path
        if path.end == "end_esc_sms_unhealthy":
            assert end.queue == "tier2"


def test_code_rejected_hands_a_code_that_never_arrived_to_the_other_playbook():
    d = definition("code_rejected")
    why = d.node("why")
    targets = {condition.next for condition in why.conditions}

    assert "not_received" in targets
    assert d.node("not_received").playbook == "code_not_received"


# --- Through simulate_case --------------------------------------------------------------


def simulate(path) -> dict:
    out = StringIO()
    call_command("simulate_case", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_scenarios_cover_each_root_cause_the_playbooks_fix():
    expected = {
        read_scenario(SCENARIO_DIR / f"{name}.yaml").expected.root_cause for name in SCENARIOS
    }

    assert CODE_CAUSES <= expected
    assert len(SCENARIOS) >= 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_reaches_its_root_cause_and_outcome(name):
    path = SCENARIO_DIR / f"{name}.yaml"
    expected = read_scenario(path).expected

    report = simulate(path)

    taken = " -> ".join(f"{s['node']}[{s['result']}]" for s in report["steps"])
    assert report["playbook"] == read_scenario(path).complaint
    assert (expected.root_cause in report["root_causes"], report["outcome"]) == (
        True,
        expected.outcome,
    ), f"{report['root_causes']} via {taken}"
    assert report["audit_chain_ok"] is True
    if report["outcome"] in RESOLVED_OUTCOMES:
        assert report["verified_sign_in"] is True, taken
    # Every one of these is fixed or worked round with the caller's own methods.
    assert report["bypass_issued"] is False, taken


@pytest.mark.django_db(transaction=True)
def test_a_token_run_ahead_of_the_service_is_resynchronised_from_two_codes(tmp_path):
    """A hardware token pressed many times without signing in: the serial is right, so the
    desk resynchronises it from two consecutive codes the caller reads out."""
    source = (SCENARIO_DIR / "invalid-token-serial-cr.yaml").read_text()
    scenario_file = tmp_path / "token-drift.yaml"
    scenario_file.write_text(
        source.replace("id: invalid-token-serial-cr", "id: token-drift")
        .replace('serial: "HT-314872"', 'serial: "HT-318472"')
        .replace("ingrid.berg", "ingrid.berg.drift")
    )
    scenario = read_scenario(scenario_file)
    end_user = load_scenario(scenario)
    token = Device.objects.get(end_user=end_user, platform="hardware_token")
    SimDevice.objects.filter(device=token).update(token_counter=40)

    report = work_case(
        scenario_id=scenario.id,
        complaint=scenario.complaint,
        end_user=end_user,
        application=scenario.application,
        caller=AutomatedCaller(end_user),
        staff=simulation_staff(),
    )

    taken = [(s["node"], s["result"]) for s in report["steps"]]
    assert ("ask_serial", "true") in taken or ("ask_serial", "True") in taken, taken
    assert ("resync_token", "done") in taken
    assert (report["outcome"], report["root_causes"], report["verified_sign_in"]) == (
        "code_accepted",
        ["clock_skew"],
        True,
    )
    assert report["bypass_issued"] is False


@pytest.mark.django_db
def test_code_rejection_check_without_a_rejected_code_says_so():
    scenario = read_scenario(SCENARIO_DIR / "code-expired-voice-cr.yaml")
    end_user = load_scenario(scenario)

    result = run_check("code_rejection", CheckContext.build(end_user))

    assert result.outcome == "no_rejection"
    assert result.facts == {
        "rejected_factor": None,
        "code_age_seconds": None,
        "code_timeout_seconds": 300,
    }


@pytest.mark.django_db
def test_device_simulator_offers_the_new_caller_action(technician, client_for):
    scenario = read_scenario(SCENARIO_DIR / "clock-skew-android-cr.yaml")
    end_user = load_scenario(scenario)
    device = Device.objects.get(end_user=end_user)

    html = client_for(technician).get(
        reverse("authsim:device-detail", kwargs={"device_id": device.pk})
    )

    assert 'value="enter_code_promptly"' in html.content.decode()
