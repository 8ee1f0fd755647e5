"""What a session refuses: the exceptions the services raise and the messages for a
form the session has already moved past; and the two signals a driver raises to
enter a subflow or to wait for the end user."""

from __future__ import annotations

from typing import Any

from troubleshooting.schema import SubflowNode


class SessionError(Exception):
    """The request does not fit the session (ended, moved on, a missing answer …). The
    message is for the technician."""


class InputError(SessionError):
    """What the technician entered for the node cannot be used (a missing choice, codes that
    are not digits, codes the service could not match): the card is shown again with the
    message and what was entered, and the session stays where it was."""


# A form for a node the session has already left, or a step someone else recorded first.
STALE_NODE = "The session has moved on; here is where it stands now."
STALE_STEP = (
    "Another technician recorded this step first; nothing was recorded twice. Here is where "
    "the session stands now."
)


class EnterSubflow(Exception):
    """The current node runs another playbook: the session enters it (a new frame)."""

    def __init__(self, node: SubflowNode):
        super().__init__(node.playbook)
        self.node = node


class Waiting(Exception):
    """The node waits for the end user (a push to answer, a supervisor to decide)."""

    def __init__(self, pending: dict[str, Any]):
        super().__init__(pending.get("kind", "waiting"))
        self.pending = pending
