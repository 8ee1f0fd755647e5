"""Automatic checks: Python functions registered by id, each declaring its outcomes and the
facts it sets.

    @check("user_status", outcomes=["active", "locked_out", ...], facts=["user_status"])
    def user_status(ctx: CheckContext) -> CheckResult: ...

A check reads only the directory (enrollment.models, enrollment.policy) and the MFA port
(`ctx.mfa`, an enrollment.mfa.MFAService) — never the simulator's internals — and returns
(outcome, evidence, facts):

- outcome: one of its declared outcomes; a playbook's check node maps each of them plus the
  reserved `error` and `timeout`;
- evidence: what the technician sees on the card and the step record keeps (JSON values);
- facts: named values later `decide` conditions read (JSON values, declared names only).

`run_check()` is what the engine's callers use: it turns an MFA service that does not answer
into `timeout`, any other exception or an undeclared outcome / fact into `error`, so a broken
check never crashes the wizard.

A real MFA service reports less than the simulator (enrollment.mfa capabilities). A check
whose data the service cannot give is not run: `run_check()` answers `unknown` with the
reason ("The MFA service does not report this …"), never a guess. NOT_REPORTED declares, per
check, the capability it needs and the outcome whose branch the session then moves on by
(the engine follows it for `unknown` when a node does not map `unknown` itself), so the same
playbooks run on every service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from enrollment import mfa as port
from enrollment.mfa import MFAService, NotSupported, ServiceUnavailable, get_mfa_service
from enrollment.models import Application, EndUser
from troubleshooting.vocab import CHECK_ERROR, CHECK_TIMEOUT, CHECK_UNKNOWN, RESERVED_OUTCOMES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at: the end user, the application signed in to, the MFA port."""

    end_user: EndUser
    application: Application | None
    mfa: MFAService
    now: datetime

    @classmethod
    def build(
        cls,
        end_user: EndUser,
        application: Application | None = None,
        *,
        mfa: MFAService | None = None,
    ) -> CheckContext:
        service = mfa or get_mfa_service()
        return cls(end_user=end_user, application=application, mfa=service, now=service.now())


class CheckResult(NamedTuple):
    outcome: str
    evidence: dict[str, Any]
    facts: dict[str, Any]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    function: Callable[[CheckContext], CheckResult | tuple]
    outcomes: tuple[str, ...]
    facts: tuple[str, ...]
    title: str = ""
    description: str = ""

    @property
    def all_outcomes(self) -> tuple[str, ...]:
        """The declared outcomes plus `error` and `timeout`: what a node must map."""
        return self.outcomes + RESERVED_OUTCOMES


@dataclass
class CheckRegistry:
    specs: dict[str, CheckSpec] = field(default_factory=dict)

    def register(self, spec: CheckSpec) -> None:
        if spec.id in self.specs:
            raise ValueError(f"check {spec.id!r} is registered twice")
        reserved = set(spec.outcomes) & set(RESERVED_OUTCOMES)
        if reserved:
            raise ValueError(f"check {spec.id!r} declares reserved outcomes {sorted(reserved)}")
        self.specs[spec.id] = spec

    def get(self, check_id: str) -> CheckSpec:
        _load_builtin_checks()
        return self.specs[check_id]

    def __contains__(self, check_id: str) -> bool:
        _load_builtin_checks()
        return check_id in self.specs

    def all(self) -> list[CheckSpec]:
        _load_builtin_checks()
        return list(self.specs.values())


registry = CheckRegistry()


def check(
    check_id: str,
    *,
    outcomes: Iterable[str],
    facts: Iterable[str],
    title: str = "",
) -> Callable[[Callable], Callable]:
    """Registers the decorated function as the check `check_id`."""

    def decorate(function: Callable) -> Callable:
        registry.register(
            CheckSpec(
                id=check_id,
                function=function,
                outcomes=tuple(outcomes),
                facts=tuple(facts),
                title=title or check_id.replace("_", " ").capitalize(),
                description=(function.__doc__ or "").strip(),
            )
        )
        return function

    return decorate


class NotReported(NamedTuple):
    capability: str  # enrollment.mfa CAPABILITY_* the check's data comes from
    moves_on_by: str  # the declared outcome whose branch the session follows meanwhile


# Checks whose data only some services report. The branch followed is the one that goes on
# to the next question or check, not a conclusion: the step itself records `unknown`.
NOT_REPORTED: dict[str, NotReported] = {
    "fraud_signals": NotReported(port.CAPABILITY_FRAUD_SIGNALS, "none"),
    "sms_provider": NotReported(port.CAPABILITY_PROVIDER_STATUS, "healthy"),
    "email_provider": NotReported(port.CAPABILITY_PROVIDER_STATUS, "healthy"),
    "recent_delivery": NotReported(port.CAPABILITY_DELIVERY_LOG, "none"),
    "invitation_delivery": NotReported(port.CAPABILITY_DELIVERY_LOG, "pending"),
    "device_health": NotReported(port.CAPABILITY_DEVICE_REPORT, "healthy"),
    "device_compatibility": NotReported(port.CAPABILITY_DEVICE_REPORT, "compatible"),
}


def not_reported(check_id: str, service: MFAService) -> str | None:
    """Why `check_id` cannot run on `service` (the technician's words), or None."""
    needed = NOT_REPORTED.get(check_id)
    if needed is None or service.supports(needed.capability):
        return None
    return port.not_reported_reason(needed.capability)


def unknown_result(reason: str) -> CheckResult:
    return CheckResult(CHECK_UNKNOWN, {"not_reported": reason}, {})


def unknown_moves_on_by(check_id: str) -> str | None:
    """The outcome whose branch a session follows when `check_id` answered `unknown` on a
    node that does not map `unknown` (None: the node's `error` branch)."""
    needed = NOT_REPORTED.get(check_id)
    return needed.moves_on_by if needed else None


def run_check(check_id: str, ctx: CheckContext) -> CheckResult:
    """Runs a registered check and never raises for the check's own failures.

    Returns `timeout` when the MFA service did not answer, `error` (with the problem as
    evidence) when the check raised or broke its declaration. Raises KeyError only for an
    unregistered id, which the linter rules out for published playbooks."""
    spec = registry.get(check_id)
    reason = not_reported(check_id, ctx.mfa)
    if reason is not None:
        return unknown_result(reason)
    try:
        outcome, evidence, facts = spec.function(ctx)
    except NotSupported as exc:
        return unknown_result(str(exc))
    except ServiceUnavailable as exc:
        return CheckResult(CHECK_TIMEOUT, {"problem": f"The MFA service did not answer: {exc}"}, {})
    except Exception as exc:
        logger.exception("check %s failed", check_id)
        return CheckResult(CHECK_ERROR, {"problem": f"{type(exc).__name__}: {exc}"}, {})
    if outcome not in spec.outcomes:
        return CheckResult(
            CHECK_ERROR, {"problem": f"the check returned undeclared outcome {outcome!r}"}, {}
        )
    undeclared = sorted(set(facts) - set(spec.facts))
    if undeclared:
        return CheckResult(
            CHECK_ERROR, {"problem": f"the check set undeclared facts {undeclared}"}, {}
        )
    return CheckResult(outcome, dict(evidence), dict(facts))


_loaded = False


def _load_builtin_checks() -> None:
    # The check modules import `check` from here, so they are loaded on first use rather than
    # at the top of this module (which would be a circular import).
    global _loaded
    if not _loaded:
        _loaded = True
        from troubleshooting.checks import (  # noqa: F401
            access,
            codes,
            directory,
            enrollment_extra,
            service,
        )
