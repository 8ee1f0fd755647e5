"""python manage.py load_scenario PATH [PATH ...] — build the world of scenario files."""

from django.core.management.base import BaseCommand, CommandError

from authsim.scenarios import ScenarioError, read_scenario
from authsim.world import load_scenario


class Command(BaseCommand):
    help = (
        "Builds the world a scenario file describes (scenarios.md): resets the simulator's "
        "shared state, then creates the end user, devices, authenticators, enrollment, "
        "policies and provider faults. Loading a file again replaces that user's world."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="scenario YAML file(s)")

    def handle(self, *args, paths: list[str], **options) -> None:
        # Validate every file first, so a bad file changes nothing.
        try:
            scenarios = [read_scenario(path) for path in paths]
        except ScenarioError as exc:
            raise CommandError(str(exc)) from None
        for path, scenario in zip(paths, scenarios, strict=True):
            user = load_scenario(scenario)
            devices = ", ".join(f"{d.name} (#{d.pk})" for d in user.devices.all()) or "none"
            self.stdout.write(
                self.style.SUCCESS(f"Loaded {scenario.id} from {path}: ")
                + f"end user {user.username} (#{user.pk}), devices: {devices}."
            )
