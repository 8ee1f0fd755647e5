"""Guided sessions: a ticket worked node by node through a pinned playbook version.

The wizard calls these services one request at a time; simulate_case calls the same ones
in a loop with the automated caller as its driver (troubleshooting.simulation). Both go
through runner.advance, so the engine, checks, guards and recovery services are the same.

- session_start pins the current published version for the ticket's complaint, refuses a
  second active session on the ticket, and runs the automatic nodes (checks, decisions)
  up to the first node that needs someone: a question, an instruction, an action, a verify.
- session_advance answers the current node (a question's option, whether an instruction
  was done) or runs it (an action through its enrollment service, a verify as a sign-in
  through the MFA port); a push the end user has to answer leaves the session waiting,
  and session_poll picks the answer up.
- session_go_back supersedes the steps from an earlier one on (never deletes them) and
  rebuilds the state by replaying the steps still current.
- session_resume / session_abandon.

Every step writes its StepRecord and a session.step TicketEvent in one transaction (the
driver's record()). Ending the session resolves or escalates the ticket with the outcome
and root causes, and keeps the handoff packet of an escalation on the session and in the
trail.

The package's modules are its implementation; import from here:

- lifecycle: session_start, session_resume, session_abandon;
- advance: session_advance (row lock, stale-form refusal), session_poll and
  session_caller_report (what the caller saw while a test sign-in waits);
- replay: session_go_back and the replay that rebuilds the state;
- flow: one node through the driver, the automatic nodes after it, subflows;
- ending: resolving or escalating the ticket at the end node;
- driver: SessionDriver, what the technician supplies at each node kind;
- action_inputs: what an action node offers to choose from, input refusals;
- frames: the session's state and the subflows it is inside;
- trail: StepRecords, session.step events and their payloads;
- access, errors: who may work a session and when, and what it refuses.
"""

from troubleshooting.sessions.action_inputs import action_authenticators, action_devices
from troubleshooting.sessions.advance import (
    CALLER_REPORTS,
    session_advance,
    session_caller_report,
    session_poll,
)
from troubleshooting.sessions.driver import SessionDriver, attempt_result
from troubleshooting.sessions.errors import STALE_NODE, STALE_STEP, InputError, SessionError
from troubleshooting.sessions.frames import session_frame
from troubleshooting.sessions.lifecycle import session_abandon, session_resume, session_start
from troubleshooting.sessions.replay import session_go_back
from troubleshooting.sessions.trail import session_event_record, session_steps

__all__ = [
    "CALLER_REPORTS",
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
    "session_caller_report",
    "session_event_record",
    "session_frame",
    "session_go_back",
    "session_poll",
    "session_resume",
    "session_start",
    "session_steps",
]
