"""Guided sessions: the services the wizard and simulate_case call. Import from here."""

from troubleshooting.sessions.driver import (
    STALE_NODE,
    STALE_STEP,
    InputError,
    SessionDriver,
    SessionError,
    action_authenticators,
    action_devices,
    attempt_result,
    session_abandon,
    session_advance,
    session_frame,
    session_go_back,
    session_poll,
    session_resume,
    session_start,
    session_steps,
)

__all__ = [
    "STALE_NODE",
    "STALE_STEP",
    "InputError",
    "SessionDriver",
    "SessionError",
    "action_authenticators",
    "action_devices",
    "attempt_result",
    "session_abandon",
    "session_advance",
    "session_frame",
    "session_go_back",
    "session_poll",
    "session_resume",
    "session_start",
    "session_steps",
]
