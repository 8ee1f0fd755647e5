"""The facts a question node may ask the caller about: things the caller can see on their own
device or in their own mailbox, never something the service could tell us.

Each fact has a type (yes/no or a choice) and the answers a question must map — all of them.
`ground_truth` says, for the automated caller of simulate_case, which part of a scenario file
answers it; the engine and the checks never read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionFact:
    name: str
    kind: str  # "bool" | "choice"
    asks: str
    choices: tuple[str, ...] = ()
    ground_truth: str = ""

    @property
    def answers(self) -> tuple[bool | str, ...]:
        """Every answer a question about this fact must map."""
        return (True, False) if self.kind == "bool" else self.choices

    def accepts(self, value: object) -> bool:
        if self.kind == "bool":
            return isinstance(value, bool)
        return isinstance(value, str) and value in self.choices


QUESTION_FACTS: dict[str, QuestionFact] = {
    fact.name: fact
    for fact in (
        QuestionFact(
            "device_online",
            "bool",
            "Can the phone open a web page right now (Wi-Fi or mobile data)?",
            ground_truth="devices[].online and network != none",
        ),
        QuestionFact(
            "notifications_enabled",
            "bool",
            "In the phone's settings, may the authenticator app show notifications?",
            ground_truth="devices[].notifications_enabled",
        ),
        QuestionFact(
            "app_installed",
            "bool",
            "Is the authenticator app installed on the phone?",
            ground_truth="devices[].app_installed",
        ),
        QuestionFact(
            "enrollment_email_received",
            "bool",
            "Is the enrollment email in the inbox?",
            ground_truth="the enrollment email's folder (inbox, not spam)",
        ),
        QuestionFact(
            "qr_scan_result",
            "choice",
            "What happens when the caller tries to scan the activation code?",
            choices=("not_tried", "camera_blocked", "cannot_connect", "works"),
            ground_truth=(
                "devices[].camera_permission false -> camera_blocked; online false -> "
                "cannot_connect; enrollment stage before code_scanned -> not_tried"
            ),
        ),
        QuestionFact(
            "has_device",
            "bool",
            "Does the caller have the enrolled phone or token with them?",
            ground_truth="not devices[].lost",
        ),
        QuestionFact(
            "token_serial_matches",
            "bool",
            "Read the serial on record to the caller: is it the one printed on the back of "
            "their token?",
            ground_truth="devices[].serial == authenticators[].serial (hardware token)",
        ),
    )
}
