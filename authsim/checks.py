"""System checks of the simulator.

authsim is a demo and training service: on it, staff play the end user (approve pushes,
read codes and inboxes on the device simulator). A deployment that forgot to configure a
real MFA service would ship exactly that, so `manage.py check --deploy` refuses it.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

SIMULATED_IN_PRODUCTION = "authsim.E001"


def _is_simulator(dotted_path: str) -> bool:
    return dotted_path.split(".", 1)[0] == "authsim"


@register(Tags.security, deploy=True)
def simulated_mfa_service_in_production(app_configs=None, **kwargs) -> list[Error]:
    """An error when the simulator is the MFA service of a non-debug deployment, unless
    ALLOW_SIMULATED_MFA_IN_PRODUCTION says so on purpose (a training desk)."""
    if settings.DEBUG or getattr(settings, "ALLOW_SIMULATED_MFA_IN_PRODUCTION", False):
        return []
    if not _is_simulator(settings.MFA_SERVICE):
        return []
    return [
        Error(
            f"MFA_SERVICE is the simulator ({settings.MFA_SERVICE}) and DJANGO_DEBUG is off: "
            "staff could answer end users' pushes and read their codes on the device "
            "simulator.",
            hint=(
                "Set MFA_SERVICE to a real MFA service's adapter. For a training desk with no "
                "real end users, set ALLOW_SIMULATED_MFA_IN_PRODUCTION=true."
            ),
            id=SIMULATED_IN_PRODUCTION,
        )
    ]
