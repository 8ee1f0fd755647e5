"""The vocabularies playbooks are written in, exactly as design.md lists them (extend, never
rename).

The directory's own vocabularies (user status, enrollment stage, methods …) live in
enrollment.enums; the ones only sessions and playbooks use — outcomes, root causes, caller
actions, complaint categories — are shared with the simulator from enrollment.vocab and
re-exported here; troubleshooting itself never imports authsim.
"""

from typing import Literal, get_args

# Shared with the simulator; re-exported for the engine's modules.
from enrollment.vocab import (  # noqa: F401
    CALLER_ACTIONS,
    COMPLAINTS,
    OUTCOMES,
    ROOT_CAUSES,
    CallerAction,
    Complaint,
    Outcome,
    RootCause,
)

# The factor a verify node asks the service for; "auto" lets the policy pick.
SignInFactor = Literal[
    "auto", "push", "totp", "hotp_token", "sms", "voice", "email", "webauthn", "backup_codes"
]


SIGN_IN_FACTORS: tuple[str, ...] = get_args(SignInFactor)

# Outcomes that say the caller has access again: a session may only end in one of these after
# a verify node saw a successful sign-in (the linter proves it on every path).
RESOLVED_OUTCOMES: frozenset[str] = frozenset(
    {"enrolled", "prompt_restored", "code_accepted", "re_enrolled", "bypass_issued"}
)
# Outcomes that hand the case to another queue: the end node names the queue and the next step.
ESCALATION_OUTCOMES: frozenset[str] = frozenset({"escalated_tier2", "escalated_security"})

# Every check outcome map carries these two besides the check's own outcomes: a check that
# raised, or a service that did not answer, must still lead somewhere.
CHECK_ERROR = "error"
CHECK_TIMEOUT = "timeout"
RESERVED_OUTCOMES: tuple[str, ...] = (CHECK_ERROR, CHECK_TIMEOUT)
# A check whose data the MFA service does not report answers this (troubleshooting.checks
# NOT_REPORTED). A node may map it; when it does not, the session moves on by the branch the
# check declares for it, so playbooks need not change per service.
CHECK_UNKNOWN = "unknown"

# What a verify node branches on: the sign-in attempt's result, or timeout when a push was
# left unanswered past the policy's timeout.
VERIFY_OUTCOMES: tuple[str, ...] = ("success", "denied", "fraud", "error", "timeout")
