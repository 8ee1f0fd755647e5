"""Repeat runs (scenarios.md, "Meanings, made precise"): loading or simulating a file again in
the same database, after an earlier simulate_case or load_scenario, resets that end user's
directory and device state to the file's, keeps their earlier tickets and trail, and never
fails because the user has tickets."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from authsim.models import SimDevice
from authsim.scenarios import SCENARIO_DIR
from enrollment.models import EndUser
from helpdesk.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reset_used_tables]


def simulate(path) -> dict:
    out = StringIO()
    call_command("simulate_case", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_simulating_twice_with_a_ticket_in_between_starts_from_the_file_again():
    path = SCENARIO_DIR / "push-notifications-disabled.yaml"

    first = simulate(path)
    fixed = EndUser.objects.get(username="maya.cohen")
    # The first run's fix switched notifications on for the phone it worked on.
    assert SimDevice.objects.get(device__end_user=fixed).notifications_enabled is True
    second = simulate(path)

    user = EndUser.objects.get(username="maya.cohen")
    assert user.pk != fixed.pk
    # The second run started from the file's broken phone again: the same path, fault and fix.
    assert second["steps"] == first["steps"]
    assert (first["outcome"], second["outcome"]) == ("prompt_restored", "prompt_restored")
    assert first["root_causes"] == second["root_causes"] == ["push_notifications_disabled"]
    # Both tickets and their trails stay, the first with the user who stepped aside.
    tickets = Ticket.objects.filter(pk__in=[first["ticket"], second["ticket"]])
    assert tickets.count() == 2
    assert Ticket.objects.get(pk=second["ticket"]).end_user_id == user.pk
    earlier = Ticket.objects.get(pk=first["ticket"]).end_user
    assert earlier.username == f"maya.cohen.run-{earlier.pk}"
    assert second["audit_chain_ok"] is True


def test_load_scenario_after_simulate_case_resets_the_world_and_keeps_the_ticket(capsys):
    path = SCENARIO_DIR / "push-notifications-disabled.yaml"
    report = simulate(path)

    call_command("load_scenario", str(path))

    user = EndUser.objects.get(username="maya.cohen")
    assert SimDevice.objects.get(device__end_user=user).notifications_enabled is False
    assert user.tickets.count() == 0
    assert Ticket.objects.filter(pk=report["ticket"]).exists()
    assert "Loaded push-notifications-disabled" in capsys.readouterr().out
    # And the world loaded again works the case to the same end.
    assert simulate(path)["outcome"] == "prompt_restored"


def test_a_hardware_token_file_simulates_after_load_scenario_and_a_ticket():
    path = SCENARIO_DIR / "invalid-token-serial-cr.yaml"
    call_command("load_scenario", str(path))
    first = simulate(path)

    call_command("load_scenario", str(path))
    second = simulate(path)

    assert first["outcome"] == second["outcome"] == "code_accepted"
    username = EndUser.objects.get(tickets__pk=second["ticket"]).username
    live = EndUser.objects.get(username=username)
    assert live.authenticators.exclude(status="revoked").count() == 1
