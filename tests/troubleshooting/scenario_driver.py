"""A test driver that works a bundled scenario through a shipped playbook the way
simulate_case will: checks through the port, the end user (authsim's caller) answering from
the ground truth of their own device and inbox and carrying out caller actions, recovery
actions through the real enrollment services on a real ticket, verify as a real sign-in.

Only this test code reads the simulator's device state (to answer as the caller would);
the engine and the checks never see it."""

from __future__ import annotations

from authsim import caller
from enrollment import services as recovery
from enrollment.mfa import get_mfa_service
from enrollment.models import Application, EndUser
from enrollment.services.guards import RecoveryRefused
from enrollment.services.identity import phone_numbers_of_record
from helpdesk.enums import Channel
from helpdesk.models import Staff, Ticket
from helpdesk.services.tickets import ticket_open
from troubleshooting import engine, runner
from troubleshooting.checks import CheckContext
from troubleshooting.conf import playbook_dir
from troubleshooting.management.commands.simulate_case import AutomatedCaller
from troubleshooting.schema import load_playbook


class ScenarioDriver(runner.DirectoryDriver):
    def __init__(
        self,
        *,
        end_user: EndUser,
        application: str | None,
        actor: Staff,
        supervisor: Staff,
        on_commit,
    ):
        app = Application.objects.filter(name=application).first()
        super().__init__(CheckContext.build(end_user, app, mfa=get_mfa_service()))
        self.end_user = end_user
        self.application = application
        self.actor = actor
        self.supervisor = supervisor
        self.on_commit = on_commit  # django_capture_on_commit_callbacks
        self.ticket: Ticket | None = None
        self.steps: list[runner.Step] = []
        self.bypass_code: str | None = None  # read out once to the caller, typed at sign-in

    # --- what the caller sees ------------------------------------------------------------

    def answer(self, node, state):
        # The same ground truth simulate_case's automated caller answers from.
        return AutomatedCaller(self.end_user).answer(node.fact)

    def instruct(self, node, state):
        with self.on_commit(execute=True):
            result = caller.perform(node.caller_action, end_user_id=self.end_user.pk)
        return runner.NodeResult(
            engine.instruct_branch(result.ok), evidence={"caller_said": result.message}
        )

    def verify(self, node, state):
        application = node.application or self.application
        with self.on_commit(execute=True):
            if self.bypass_code is not None:
                code, self.bypass_code = self.bypass_code, None
                attempt = get_mfa_service().sign_in(
                    end_user_id=self.end_user.pk, application=application, passcode=code
                )
            else:
                attempt = caller.sign_in_as_end_user(
                    end_user_id=self.end_user.pk, application=application, factor=node.factor
                )
        branch = "timeout" if attempt.is_pending else attempt.result
        return runner.NodeResult(
            branch,
            facts={"verify_reason": attempt.reason, "verify_factor": attempt.factor},
            evidence={"attempt": attempt.id},
        )

    # --- what the technician does --------------------------------------------------------

    def _ticket(self) -> Ticket:
        if self.ticket is None:
            self.ticket = ticket_open(
                actor=self.actor,
                end_user=self.end_user,
                subject="Guided session",
                category=self.context_category,
                channel=Channel.PHONE,
            )
        return self.ticket

    context_category = "missing_prompt"

    def action(self, node, state):
        ticket = self._ticket()
        reason = f"Guided session: {node.title}"
        user = EndUser.objects.get(pk=self.end_user.pk)
        try:
            with self.on_commit(execute=True):
                if node.action == "verify_identity":
                    return self._verify_identity(user, ticket)
                if node.action == "resend_enrollment":
                    recovery.enrollment_email_resend(actor=self.actor, ticket=ticket, reason=reason)
                elif node.action == "resend_activation":
                    pending = user.authenticators.filter(status="pending_activation").first()
                    recovery.activation_resend(
                        actor=self.actor, ticket=ticket, reason=reason, authenticator_id=pending.pk
                    )
                elif node.action == "re_enroll":
                    recovery.end_user_re_enroll(actor=self.actor, ticket=ticket, reason=reason)
                elif node.action == "reset_authenticator":
                    live = user.authenticators.filter(method="push").exclude(status="revoked")
                    recovery.authenticator_reset(
                        actor=self.actor,
                        ticket=ticket,
                        reason=reason,
                        authenticator_id=live.first().pk,
                    )
                elif node.action == "unlock_user":
                    recovery.end_user_unlock(actor=self.actor, ticket=ticket, reason=reason)
                elif node.action == "correct_token_serial":
                    token = user.authenticators.filter(method="hotp_token").exclude(
                        status="revoked"
                    )
                    recovery.token_serial_correct(
                        actor=self.actor,
                        ticket=ticket,
                        reason=reason,
                        authenticator_id=token.first().pk,
                        serial=caller.caller_tells(user, "token_serial"),
                    )
                elif node.action == "add_mobile_number":
                    recovery.contact_number_add(
                        actor=self.actor,
                        ticket=ticket,
                        reason=reason,
                        attribute="mobile",
                        number=caller.caller_tells(user, "mobile_number"),
                    )
                elif node.action == "mark_device_lost":
                    # The caller says which phone is gone (device-side truth).
                    lost = [d for d in user.devices.all() if caller.device_state(d).lost]
                    recovery.device_mark_lost(
                        actor=self.actor,
                        ticket=ticket,
                        reason=reason,
                        device_id=(lost or list(user.devices.all()))[0].pk,
                    )
                elif node.action == "issue_bypass_code":
                    issue = recovery.bypass_code_issue(
                        actor=self.actor, ticket=ticket, reason=reason
                    )
                    self.bypass_code = issue.codes[0]
                else:
                    raise AssertionError(f"the driver cannot run {node.action}")
        except RecoveryRefused as exc:
            return runner.NodeResult("blocked", evidence={"refused": exc.message})
        return runner.NodeResult("done")

    def _verify_identity(self, user: EndUser, ticket: Ticket) -> runner.NodeResult:
        """A callback to a number of record when there is one, else a supervisor's approval."""
        numbers = phone_numbers_of_record(user)
        if numbers:
            recovery.identity_callback_attest(
                actor=self.actor, ticket=ticket, phone_number=numbers[0], confirmed=True
            )
            return runner.NodeResult("verified", facts={"identity_verified_by": "callback"})
        approval = recovery.approval_request_create(
            actor=self.actor, ticket=ticket, kind="identity", reason="No number of record"
        )
        recovery.approval_decide(
            actor=self.supervisor, approval=approval, approve=True, reason="Known to me"
        )
        return runner.NodeResult("verified", facts={"identity_verified_by": "supervisor"})

    def subflow(self, node, state):
        definition = load_playbook(playbook_dir() / f"{node.playbook}.yaml")
        sub = runner.run(definition, self, base_facts=dict(state.facts))
        return runner.NodeResult(
            engine.subflow_branch(node, sub.outcome), named_causes=sub.root_causes
        )

    def record(self, step, state):
        self.steps.append(step)


def work_case(
    playbook_id: str,
    *,
    end_user: EndUser,
    application: str | None,
    actor: Staff,
    supervisor: Staff,
    on_commit,
) -> tuple[engine.SessionState, ScenarioDriver]:
    definition = load_playbook(playbook_dir() / f"{playbook_id}.yaml")
    driver = ScenarioDriver(
        end_user=end_user,
        application=application,
        actor=actor,
        supervisor=supervisor,
        on_commit=on_commit,
    )
    driver.context_category = playbook_id
    state = runner.run(
        definition, driver, base_facts={"complaint": playbook_id, "application": application}
    )
    return state, driver
