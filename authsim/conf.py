"""Optional settings of the simulator, each with its default.

AUTHSIM_DRIFT_WINDOW_STEPS   TOTP steps (30 s) accepted either side of the service's clock.
AUTHSIM_HOTP_LOOK_AHEAD      HOTP counter values accepted ahead of the service's counter.
AUTHSIM_RESYNC_WINDOW_STEPS  how far a resync searches for two consecutive codes.
"""

from django.conf import settings


def drift_window_steps() -> int:
    return int(getattr(settings, "AUTHSIM_DRIFT_WINDOW_STEPS", 1))


def hotp_look_ahead() -> int:
    return int(getattr(settings, "AUTHSIM_HOTP_LOOK_AHEAD", 10))


def resync_window_steps() -> int:
    return int(getattr(settings, "AUTHSIM_RESYNC_WINDOW_STEPS", 100))
