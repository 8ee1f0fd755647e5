"""Checks that ask the MFA service, through the port only (enrollment.mfa): the auth log, open
fraud signals, the delivery providers' status and what happened to recent messages."""

from __future__ import annotations

from helpdesk.redaction import mask_numbers
from troubleshooting.checks import CheckContext, CheckResult, check

# How many auth-log entries and deliveries the evidence shows.
EVIDENCE_ROWS = 5

# The port's attempt result "error" cannot be an outcome name: `error` is reserved for a
# check that failed itself.
_RESULT_OUTCOME = {
    "success": "success",
    "denied": "denied",
    "fraud": "fraud",
    "error": "service_error",
}


@check(
    "auth_log",
    outcomes=["no_attempts", "success", "denied", "fraud", "service_error"],
    facts=[
        "last_auth_result",
        "last_auth_reason",
        "last_auth_factor",
        "last_auth_minutes_ago",
    ],
    title="Recent sign-in result and reason",
)
def auth_log(ctx: CheckContext) -> CheckResult:
    """The newest sign-in attempt in the service's auth log — for the ticket's application
    when it has attempts there, otherwise any — with its result and reason."""
    entries = ctx.mfa.auth_log(end_user_id=ctx.end_user.id, limit=20)
    if ctx.application is not None:
        own = [entry for entry in entries if entry.application == ctx.application.name]
        entries = own or entries
    rows = [
        {
            "at": entry.at.isoformat(),
            "application": entry.application,
            "factor": entry.factor,
            "result": entry.result,
            "reason": entry.reason,
        }
        for entry in entries[:EVIDENCE_ROWS]
    ]
    if not entries:
        return CheckResult(
            "no_attempts",
            {"entries": []},
            {
                "last_auth_result": None,
                "last_auth_reason": None,
                "last_auth_factor": None,
                "last_auth_minutes_ago": None,
            },
        )
    last = entries[0]
    minutes = round((ctx.now - last.at).total_seconds() / 60, 1)
    return CheckResult(
        _RESULT_OUTCOME.get(last.result, "service_error"),
        {"entries": rows},
        {
            "last_auth_result": last.result,
            "last_auth_reason": last.reason,
            "last_auth_factor": last.factor,
            "last_auth_minutes_ago": minutes,
        },
    )


@check(
    "fraud_signals",
    outcomes=["none", "open"],
    facts=["open_fraud_signals"],
    title="Open fraud signals",
)
def fraud_signals(ctx: CheckContext) -> CheckResult:
    """Open fraud reports (the user answered "this wasn't me"): they block every recovery
    action and send the case to security."""
    signals = ctx.mfa.fraud_signals(end_user_id=ctx.end_user.id)
    evidence = {
        "signals": [
            {"at": signal.at.isoformat(), "source": signal.source, "detail": signal.detail}
            for signal in signals
        ]
    }
    return CheckResult(
        "open" if signals else "none", evidence, {"open_fraud_signals": len(signals)}
    )


@check(
    "sms_provider",
    outcomes=["healthy", "unconfigured", "unhealthy", "rate_limited"],
    facts=["sms_configured", "sms_healthy", "sms_rate_limited", "voice_healthy"],
    title="SMS provider status",
)
def sms_provider(ctx: CheckContext) -> CheckResult:
    """The SMS provider as the service's status page reports it (and the voice provider, the
    usual way round an SMS outage)."""
    status = ctx.mfa.provider_status()
    sms = status.sms
    if not sms.configured:
        outcome = "unconfigured"
    elif not sms.healthy:
        outcome = "unhealthy"
    elif sms.rate_limited:
        outcome = "rate_limited"
    else:
        outcome = "healthy"
    evidence = {
        "sms": {
            "configured": sms.configured,
            "healthy": sms.healthy,
            "rate_limited": sms.rate_limited,
        },
        "voice": {"healthy": status.voice.healthy},
    }
    facts = {
        "sms_configured": sms.configured,
        "sms_healthy": sms.healthy,
        "sms_rate_limited": sms.rate_limited,
        "voice_healthy": status.voice.healthy,
    }
    return CheckResult(outcome, evidence, facts)


@check(
    "email_provider",
    outcomes=["healthy", "unhealthy"],
    facts=["email_healthy", "push_healthy"],
    title="Email provider status",
)
def email_provider(ctx: CheckContext) -> CheckResult:
    """The email provider as the service reports it (and the push provider, for the
    enrollment and prompt playbooks that need both)."""
    status = ctx.mfa.provider_status()
    return CheckResult(
        "healthy" if status.email.healthy else "unhealthy",
        {"email": {"healthy": status.email.healthy}, "push": {"healthy": status.push.healthy}},
        {"email_healthy": status.email.healthy, "push_healthy": status.push.healthy},
    )


@check(
    "recent_delivery",
    outcomes=["none", "delivered", "queued", "failed", "delayed", "filtered", "rate_limited"],
    facts=["last_delivery_channel", "last_delivery_status"],
    title="What happened to the latest message",
)
def recent_delivery(ctx: CheckContext) -> CheckResult:
    """The newest message the service sent the end user (push, SMS, call, email) and what
    became of it: a stale push registration shows as a failed push, a spam filter as a
    filtered email."""
    deliveries = ctx.mfa.delivery_log(end_user_id=ctx.end_user.id, limit=20)
    rows = [
        {
            "at": report.at.isoformat(),
            "channel": report.channel,
            "status": report.status,
            # The service may quote the number it refused; the evidence keeps two digits.
            "detail": mask_numbers(report.detail),
        }
        for report in deliveries[:EVIDENCE_ROWS]
    ]
    if not deliveries:
        return CheckResult(
            "none",
            {"deliveries": []},
            {"last_delivery_channel": None, "last_delivery_status": None},
        )
    last = deliveries[0]
    return CheckResult(
        last.status if last.status in recent_delivery_outcomes() else "failed",
        {"deliveries": rows},
        {"last_delivery_channel": last.channel, "last_delivery_status": last.status},
    )


def recent_delivery_outcomes() -> tuple[str, ...]:
    return ("delivered", "queued", "failed", "delayed", "filtered", "rate_limited")
