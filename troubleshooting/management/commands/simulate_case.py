"""python manage.py simulate_case PATH [PATH ...] --json

Loads each scenario into the simulator, opens a ticket as a technician and works it through
the published playbook with a guided session, the simulated end user answering and acting
(scenarios.md, "simulate_case"). Prints one JSON object per scenario, an array for several.
Exit status 0 when every case reached an end node; non-zero with a message naming the file
on a bad file or an internal error.

This command is where the simulator meets the engine: it is the one module of
troubleshooting that imports authsim (the scenario loader and the automated caller).
Nothing here waits in real time: the caller advances the simulator's clock.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from authsim import caller as sim_caller
from authsim.models import Folder, MessageKind
from authsim.scenarios import ScenarioError, read_scenario
from authsim.world import load_scenario
from enrollment.mfa import SignInAttempt
from enrollment.models import EndUser
from troubleshooting.sessions import SessionError
from troubleshooting.simulation import simulation_staff, work_case


class AutomatedCaller:
    """The end user, answering from the ground truth of their own phone and inbox."""

    def __init__(self, end_user: EndUser):
        self.end_user = end_user

    def _phone(self):
        device = sim_caller.primary_device(self.end_user)
        return sim_caller.device_state(device) if device else None

    def answer(self, fact: str) -> bool | str:
        sim = self._phone()
        if fact == "device_online":
            return bool(sim and sim.reachable)
        if fact == "notifications_enabled":
            return bool(sim and sim.notifications_enabled)
        if fact == "app_installed":
            return bool(sim and sim.app_installed)
        if fact == "has_device":
            return bool(sim and not sim.lost)
        if fact == "token_serial_matches":
            return sim_caller.token_serial_matches(self.end_user)
        if fact == "enrollment_email_received":
            return any(
                message.kind == MessageKind.ENROLLMENT
                for message in sim_caller.inbox(self.end_user, folder=Folder.INBOX)
            )
        if fact == "qr_scan_result":
            if sim is None:
                return "not_tried"
            if not sim.camera_permission:
                return "camera_blocked"
            if not sim.reachable:
                return "cannot_connect"
            return "not_tried"
        raise CommandError(f"the automated caller cannot answer {fact!r}")

    def tell(self, item: str) -> str:
        """What the caller reads out when asked (troubleshooting.actions.CALLER_INPUTS)."""
        return sim_caller.caller_tells(self.end_user, item)

    def perform(self, action: str) -> tuple[bool, str]:
        result = sim_caller.perform(action, end_user_id=self.end_user.pk)
        return result.ok, result.message

    def sign_in(self, *, application: str | None, factor: str) -> SignInAttempt:
        return sim_caller.sign_in_as_end_user(
            end_user_id=self.end_user.pk, application=application, factor=factor
        )


def simulate_file(path: Path) -> dict:
    scenario = read_scenario(path)
    # The loader lets an earlier run's end user (and their tickets) step aside.
    end_user = load_scenario(scenario)
    return work_case(
        scenario_id=scenario.id,
        complaint=scenario.complaint,
        end_user=end_user,
        application=scenario.application,
        caller=AutomatedCaller(end_user),
        staff=simulation_staff(),
    )


class Command(BaseCommand):
    help = "Work scenario files end to end through the guided-session services."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="scenario YAML files")
        parser.add_argument(
            "--json", action="store_true", help="print the JSON report (the default output)"
        )

    def handle(self, *args, **options):
        paths = [Path(p) for p in options["paths"]]
        reports = []
        for path in paths:
            try:
                reports.append(simulate_file(path))
            except ScenarioError as exc:
                message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                raise CommandError(f"bad scenario file {message}") from None
            except (CommandError, SessionError) as exc:
                raise CommandError(f"{path}: {exc}") from None
            except Exception as exc:
                self.stderr.write(traceback.format_exc())
                raise CommandError(
                    f"{path}: internal error while working the case: {type(exc).__name__}: {exc}"
                ) from None
        output = reports[0] if len(paths) == 1 else reports
        self.stdout.write(json.dumps(output, indent=2))
