"""Checks for the code playbooks (codes rejected, codes not received), through the MFA port
only: which kind of code the service turned down and how old a sent code was when it was
typed, set against the code timeout of the effective policy."""

from __future__ import annotations

from enrollment.policy import effective_policy
from troubleshooting.checks import CheckContext, CheckResult, check

# Codes the service sends in a message; the rest are read off the caller's own things.
MESSAGE_FACTORS = ("sms", "voice", "email")
APP_FACTORS = ("totp",)
TOKEN_FACTORS = ("hotp_token",)
DEFAULT_CODE_TIMEOUT_SECONDS = 300


@check(
    "code_rejection",
    outcomes=[
        "app_code",
        "token_code",
        "message_expired",
        "message_code",
        "backup_code",
        "no_rejection",
    ],
    facts=["rejected_factor", "code_age_seconds", "code_timeout_seconds"],
    title="Which code was rejected, and how old it was",
)
def code_rejection(ctx: CheckContext) -> CheckResult:
    """The newest sign-in the service turned down for an invalid passcode: a code from the
    authenticator app (usually the phone's clock), from a hardware token (its counter or its
    serial), or from a message. For a message code, how long after it was sent the caller
    typed it, against the policy's code timeout: older than that, the code had expired."""
    policy = effective_policy(ctx.end_user, ctx.application)
    timeout = int(policy.value("code_timeout_seconds") or DEFAULT_CODE_TIMEOUT_SECONDS)
    entries = ctx.mfa.auth_log(end_user_id=ctx.end_user.id, limit=20)
    if ctx.application is not None:
        own = [entry for entry in entries if entry.application == ctx.application.name]
        entries = own or entries
    rejected = next((entry for entry in entries if entry.reason == "invalid_passcode"), None)
    evidence: dict = {"code_timeout_seconds": timeout, "timeout_source": None}
    evidence["timeout_source"] = policy.code_timeout_seconds.source
    if rejected is None:
        return CheckResult(
            "no_rejection",
            evidence,
            {"rejected_factor": None, "code_age_seconds": None, "code_timeout_seconds": timeout},
        )
    factor = rejected.factor
    evidence["rejected_at"] = rejected.at.isoformat()
    evidence["factor"] = factor
    age = None
    if factor in MESSAGE_FACTORS:
        sent = [
            report
            for report in ctx.mfa.delivery_log(end_user_id=ctx.end_user.id, limit=20)
            if report.channel == factor and report.at <= rejected.at
        ]
        if sent:
            age = round((rejected.at - sent[0].at).total_seconds())
            evidence["sent_at"] = sent[0].at.isoformat()
            evidence["delivery_status"] = sent[0].status
        evidence["code_age_seconds"] = age
        outcome = "message_expired" if age is not None and age > timeout else "message_code"
    elif factor in APP_FACTORS:
        outcome = "app_code"
    elif factor in TOKEN_FACTORS:
        outcome = "token_code"
    elif factor == "backup_codes":
        outcome = "backup_code"
    else:
        outcome = "no_rejection"
    return CheckResult(
        outcome,
        evidence,
        {"rejected_factor": factor, "code_age_seconds": age, "code_timeout_seconds": timeout},
    )
