"""Optional settings of the troubleshooting app, each with its default."""

from pathlib import Path

from django.conf import settings

SHIPPED_PLAYBOOK_DIR = Path(__file__).resolve().parent / "playbooks"


def playbook_dir() -> Path:
    """Where the shipped playbook files live."""
    return Path(getattr(settings, "TROUBLESHOOTING_PLAYBOOK_DIR", SHIPPED_PLAYBOOK_DIR))


def device_stale_hours() -> int:
    """A device not seen by the service for longer than this counts as not seen recently."""
    return int(getattr(settings, "TROUBLESHOOTING_DEVICE_STALE_HOURS", 72))


def max_enumerated_paths() -> int:
    """The linter proves path properties by enumerating paths; past this many it gives up
    with an error rather than run for ever."""
    return int(getattr(settings, "TROUBLESHOOTING_MAX_PATHS", 20000))
