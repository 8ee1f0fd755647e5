"""Sign-in evaluation: how the simulated service decides a sign-in attempt.

Order of evaluation (the first rule that decides wins, and its reason goes to the auth log):

1. user disabled -> denied / user_disabled
2. not in the application's permitted groups -> denied / denied_by_policy
3. locked out (status, or the invalid-attempt limit reached) -> denied / locked_out
4. an open fraud report -> fraud / user_marked_fraud
5. MFA off for this application -> success / allowed_by_policy
6. member of an exempt group -> success / allowed_by_policy
7. a still-valid session -> success / valid_session (no prompt at all)
8. a passcode that is a usable bypass code -> success / bypass_user
9. no active authenticator: a pending one on a device below the policy's minimums ->
   platform_restricted / out_of_date; any other pending or disabled one -> no_activated_app;
   none at all -> deny_unenrolled_user when enrollment is required, else allowed_by_policy
10. new-devices-only and a remembered device -> success / remembered_device
11. the factor: one the policy does not allow, or a fallback when fallback is off ->
    factor_restricted; app factors on a device below the minimum OS / app version ->
    platform_restricted / out_of_date
12. the factor itself: a push (pending until approved, denied, marked fraud, or no_response
    at the push timeout), a code sent by SMS / voice / email (pending until typed, or
    error / delivery_failed when it cannot be delivered), or a passcode checked at once
    (valid_passcode / invalid_passcode; the policy's limit of invalid attempts locks the user).

Every attempt, whatever decides it, is an Attempt row: the auth log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from authsim import delivery, otp
from authsim.models import (
    Attempt,
    AttemptStatus,
    Delivery,
    DeliveryStatus,
    FraudReport,
    MessageKind,
    OtpSecret,
    Push,
    PushStatus,
    SimDevice,
    SimUser,
)
from authsim.vocab import APP_PLATFORMS, version_below
from enrollment import clock
from enrollment.mfa import UnknownObject
from enrollment.models import Authenticator, Device, EndUser, Enrollment
from enrollment.policy import EffectivePolicy, effective_policy
from enrollment.services.bypass import bypass_code_just_spent, bypass_code_redeem

AUTO = "auto"
CODE_CHANNELS = ("sms", "voice", "email")
PASSCODE_METHODS = ("totp", "hotp_token", "sms", "voice", "email", "backup_codes")
# Methods whose prompt or code comes from the authenticator app, so device minimums apply.
APP_METHODS = ("push", "totp")
# When "auto" has a choice and the default method is unavailable: the strongest first.
PREFERENCE = ("push", "webauthn", "totp", "hotp_token", "sms", "voice", "email", "backup_codes")


@dataclass
class Decision:
    result: str
    reason: str
    detail: str = ""
    factor: str | None = None
    authenticator: Authenticator | None = None
    device_id: int | None = None


@dataclass
class Context:
    user: EndUser
    sim: SimUser
    policy: EffectivePolicy
    now: datetime
    active: list[Authenticator] = field(default_factory=list)


def sim_user(end_user: EndUser) -> SimUser:
    found, _ = SimUser.objects.get_or_create(end_user=end_user)
    return found


# --- Expiry -------------------------------------------------------------------------------


def expire_pending(*, end_user_id: int | None = None) -> None:
    """Ends attempts and pushes whose time ran out: denied / no_response, push timed_out.

    Side effects: bulk updates; the resolution time is the moment the prompt expired."""
    now = clock.now()
    attempts = Attempt.objects.filter(status=AttemptStatus.PENDING, expires_at__lte=now)
    pushes = Push.objects.filter(status=PushStatus.PENDING, expires_at__lte=now)
    if end_user_id is not None:
        attempts = attempts.filter(end_user_id=end_user_id)
        pushes = pushes.filter(end_user_id=end_user_id)
    attempts.update(
        status=AttemptStatus.FINAL,
        result="denied",
        reason="no_response",
        detail="No answer before the prompt timed out.",
        resolved_at=F("expires_at"),
    )
    pushes.update(status=PushStatus.TIMED_OUT, resolved_at=F("expires_at"))


# --- Sign-in ------------------------------------------------------------------------------


def sign_in(
    *,
    end_user_id: int,
    application: str | None,
    factor: str,
    passcode: str | None,
    device_id: int | None,
) -> Attempt:
    """Evaluates and records one sign-in attempt.

    Side effects: an Attempt row (final, or pending for a push or a code on its way); a Push
    and its delivery, or a code delivery, enqueued after commit; invalid-attempt counters,
    lockout (EndUser.status), bypass codes used, HOTP counters advanced. A passcode typed
    while an earlier code attempt is pending answers that attempt, which is returned.
    Raises UnknownObject for an unknown end user."""
    with transaction.atomic():
        user = EndUser.objects.select_for_update().filter(pk=end_user_id).first()
        if user is None:
            raise UnknownObject(f"No end user {end_user_id}.")
        expire_pending(end_user_id=user.pk)
        now = clock.now()
        ctx = Context(
            user=user, sim=sim_user(user), policy=effective_policy(user, application), now=now
        )
        attempt = Attempt(
            end_user=user,
            application=application or "",
            factor=factor or AUTO,
            device_id=device_id,
            created_at=now,
        )
        decision = _gate(ctx, passcode=passcode)
        if decision is None:
            ctx.active = list(
                user.authenticators.filter(status="active").select_related("device", "device__sim")
            )
            decision = _enrollment_and_memory(ctx, device_id=device_id)
        if decision is None:
            decision = _lockout(ctx)
        if decision is None and passcode:
            waiting = _waiting_for_code(ctx)
            if waiting is not None:
                attempt = waiting
            decision = _check_passcode(ctx, factor=factor, passcode=passcode)
        if decision is None:
            return _challenge(ctx, attempt, factor=factor, device_id=device_id)
        return _finish(attempt, decision, now)


def _finish(attempt: Attempt, decision: Decision, now: datetime) -> Attempt:
    if decision.result == "success" and (decision.authenticator or attempt.authenticator_id):
        # The first sign-in with a freshly activated authenticator verifies its enrollment.
        Enrollment.objects.filter(
            authenticator_id=(decision.authenticator or attempt.authenticator).pk,
            stage="activated",
        ).update(stage="verified", updated_at=now)
    attempt.status = AttemptStatus.FINAL
    attempt.result = decision.result
    attempt.reason = decision.reason
    attempt.detail = decision.detail[:300]
    attempt.resolved_at = now
    if decision.factor:
        attempt.factor = decision.factor
    if decision.authenticator is not None:
        attempt.authenticator = decision.authenticator
        attempt.device_id = decision.authenticator.device_id
    elif decision.device_id is not None:
        attempt.device_id = decision.device_id
    attempt.save()
    return attempt


def _gate(ctx: Context, *, passcode: str | None) -> Decision | None:
    user, policy, sim, now = ctx.user, ctx.policy, ctx.sim, ctx.now
    if user.status == "disabled":
        return Decision("denied", "user_disabled", "The user is disabled in the directory.")
    if not policy.is_permitted:
        groups = ", ".join(policy.permitted_groups.value)
        return Decision(
            "denied",
            "denied_by_policy",
            f"Only members of {groups} may use {policy.application or 'this application'}.",
        )
    if user.status == "locked_out":
        return Decision("denied", "locked_out", "The user is locked out.")
    if FraudReport.objects.filter(end_user=user, resolved_at__isnull=True).exists():
        return Decision("fraud", "user_marked_fraud", "The user reported a request as fraud.")
    if not policy.mfa_enabled.value:
        return Decision(
            "success", "allowed_by_policy", f"MFA is off ({policy.mfa_enabled.source})."
        )
    if policy.is_exempt:
        return Decision(
            "success",
            "allowed_by_policy",
            f"Exempt through {', '.join(policy.exempt_via)} ({policy.exempt_groups.source}).",
        )
    if sim.session_valid_until and sim.session_valid_until > now:
        return Decision(
            "success",
            "valid_session",
            f"A sign-in session is still valid until {sim.session_valid_until:%Y-%m-%d %H:%M}; "
            "no prompt was shown.",
        )
    # The directory holds bypass codes (hashed); redeeming one is its single-use rule.
    if passcode and bypass_code_redeem(end_user_id=user.pk, code=passcode):
        return Decision("success", "bypass_user", "A bypass code was used.")
    return None


def _enrollment_and_memory(ctx: Context, *, device_id: int | None) -> Decision | None:
    policy, now = ctx.policy, ctx.now
    if not ctx.active:
        others = list(
            ctx.user.authenticators.exclude(status__in=["active", "revoked"]).select_related(
                "device"
            )
        )
        pending = [a for a in others if a.status == "pending_activation"]
        for authenticator in pending:
            restricted = _device_restriction(authenticator, policy)
            if restricted is not None:
                return restricted
        if others:
            names = ", ".join(f"{a.get_method_display()} ({a.status})" for a in others)
            return Decision("denied", "no_activated_app", f"No active authenticator: {names}.")
        if policy.enrollment_required.value:
            return Decision(
                "denied",
                "deny_unenrolled_user",
                f"Not enrolled and enrollment is required ({policy.enrollment_required.source}).",
            )
        return Decision(
            "success",
            "allowed_by_policy",
            f"Not enrolled; enrollment is optional ({policy.enrollment_required.source}).",
        )
    days = policy.remembered_device_days.value or 0
    if policy.enforcement.value == "new_devices_only" and days > 0:
        devices = {a.device_id: a.device for a in ctx.active if a.device is not None}
        if device_id is not None:
            devices = {k: v for k, v in devices.items() if k == device_id}
        for device in devices.values():
            sim = getattr(device, "sim", None)
            if sim is not None and sim.remembered_until and sim.remembered_until > now:
                return Decision(
                    "success",
                    "remembered_device",
                    f"{device.name} is remembered until {sim.remembered_until:%Y-%m-%d}.",
                    device_id=device.pk,
                )
    return None


def _lockout(ctx: Context) -> Decision | None:
    limit = ctx.policy.max_invalid_attempts.value
    if limit and ctx.sim.invalid_attempts >= limit:
        _lock(ctx.user)
        return Decision("denied", "locked_out", f"{ctx.sim.invalid_attempts} invalid attempts.")
    return None


def _lock(user: EndUser) -> None:
    if user.status != "locked_out":
        user.status = "locked_out"
        user.save(update_fields=["status", "updated_at"])


def _device_restriction(authenticator: Authenticator, policy: EffectivePolicy) -> Decision | None:
    device = authenticator.device
    if device is None or authenticator.method not in APP_METHODS:
        return None
    if device.platform not in APP_PLATFORMS:
        return None
    minimum = (policy.min_os_versions.value or {}).get(device.platform)
    if version_below(device.os_version, minimum):
        return Decision(
            "denied",
            "platform_restricted",
            f"{device.get_platform_display()} {device.os_version} is below the minimum "
            f"{minimum} ({policy.min_os_versions.source}).",
            factor=authenticator.method,
            device_id=device.pk,
        )
    minimum_app = policy.min_app_version.value
    if version_below(device.app_version, minimum_app):
        return Decision(
            "denied",
            "out_of_date",
            f"App {device.app_version} is below the minimum {minimum_app} "
            f"({policy.min_app_version.source}).",
            factor=authenticator.method,
            device_id=device.pk,
        )
    return None


def _factor_refusal(ctx: Context, factor: str) -> Decision | None:
    policy = ctx.policy
    allowed = tuple(policy.allowed_methods.value or ())
    default = policy.default_method.value
    if factor not in allowed:
        return Decision(
            "denied",
            "factor_restricted",
            f"{factor} is not allowed ({policy.allowed_methods.source}).",
            factor=factor,
        )
    if not policy.allow_fallback.value and default and factor != default:
        return Decision(
            "denied",
            "factor_restricted",
            f"Only the default method {default} may be used; fallback is off "
            f"({policy.allow_fallback.source}).",
            factor=factor,
        )
    return None


def _usable_methods(ctx: Context) -> tuple[str, ...]:
    allowed = tuple(ctx.policy.allowed_methods.value or ())
    default = ctx.policy.default_method.value
    if not ctx.policy.allow_fallback.value and default:
        return (default,) if default in allowed else ()
    return allowed


# --- Passcodes ----------------------------------------------------------------------------


def _waiting_for_code(ctx: Context) -> Attempt | None:
    return (
        Attempt.objects.select_for_update()
        .filter(
            end_user=ctx.user,
            status=AttemptStatus.PENDING,
            factor__in=PASSCODE_METHODS,
            expires_at__gt=ctx.now,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def _check_passcode(ctx: Context, *, factor: str, passcode: str) -> Decision:
    if factor != AUTO:
        refused = _factor_refusal(ctx, factor)
        if refused is not None:
            return refused
        methods: tuple[str, ...] = (factor,)
    else:
        methods = tuple(m for m in _usable_methods(ctx) if m in PASSCODE_METHODS)
    candidates = [a for a in ctx.active if a.method in methods]
    matched = match_passcode(ctx.user, candidates, passcode, ctx.now)
    if matched is not None:
        restricted = _device_restriction(matched, ctx.policy)
        if restricted is not None:
            return restricted
        _reset_failures(ctx.sim)
        return Decision("success", "valid_passcode", factor=matched.method, authenticator=matched)
    if _just_spent(ctx, passcode):
        # A single-use code another sign-in has just redeemed (a lost race, or the same
        # code typed twice): refused, but no guess, so it does not count toward lockout.
        return Decision(
            "denied",
            "invalid_passcode",
            "That code has just been used; single-use codes work once. Not counted as an "
            "invalid attempt.",
            factor=factor if factor != AUTO else None,
        )
    return _invalid(ctx, candidates, factor=factor)


# How far back a spent single-use code still counts as "just used" (a race or a double
# submit), rather than an old code being guessed.
JUST_SPENT_WINDOW = timedelta(minutes=15)


def _just_spent(ctx: Context, passcode: str) -> bool:
    code = (passcode or "").strip()
    if not code:
        return False
    if bypass_code_just_spent(end_user_id=ctx.user.pk, code=code, within=JUST_SPENT_WINDOW):
        return True
    return Delivery.objects.filter(
        end_user=ctx.user,
        kind=MessageKind.CODE,
        code=code,
        used_at__isnull=False,
        used_at__gte=ctx.now - JUST_SPENT_WINDOW,
    ).exists()


def _invalid(ctx: Context, candidates: list[Authenticator], *, factor: str) -> Decision:
    sim = ctx.sim
    sim.invalid_attempts += 1
    sim.save(update_fields=["invalid_attempts"])
    ids = [a.pk for a in candidates]
    if ids:
        Authenticator.objects.filter(pk__in=ids).update(failure_count=F("failure_count") + 1)
    limit = ctx.policy.max_invalid_attempts.value
    detail = f"Invalid passcode ({sim.invalid_attempts} in a row)."
    if limit and sim.invalid_attempts >= limit:
        _lock(ctx.user)
        detail += f" The limit of {limit} is reached: the user is now locked out."
    only = candidates[0] if len(candidates) == 1 else None
    return Decision(
        "denied",
        "invalid_passcode",
        detail,
        factor=only.method if only else (factor if factor != AUTO else None),
        authenticator=only,
    )


def _reset_failures(sim: SimUser) -> None:
    if sim.invalid_attempts:
        sim.invalid_attempts = 0
        sim.save(update_fields=["invalid_attempts"])


def match_passcode(
    user: EndUser, candidates: list[Authenticator], passcode: str, now: datetime
) -> Authenticator | None:
    """The authenticator among `candidates` that accepts `passcode`, consuming it (an HOTP
    counter moves past it, an SMS / voice / email code is used up). None when none does."""
    code = (passcode or "").strip()
    if not code:
        return None
    for authenticator in candidates:
        method = authenticator.method
        if method == "totp":
            secret = OtpSecret.objects.filter(authenticator=authenticator).first()
            if secret is not None and (
                otp.totp_match(secret.secret, code, now, offset_steps=secret.drift_steps)
                is not None
            ):
                return authenticator
        elif method == "backup_codes":
            # `counter` is the set of used codes, one bit per code on the printed list.
            secret = OtpSecret.objects.filter(authenticator=authenticator).first()
            index = otp.backup_match(secret.secret, code, secret.counter) if secret else None
            if index is not None:
                secret.counter |= 1 << index
                secret.save(update_fields=["counter"])
                left = otp.BACKUP_CODE_COUNT - secret.counter.bit_count()
                Authenticator.objects.filter(pk=authenticator.pk).update(remaining_codes=left)
                return authenticator
        elif method == "hotp_token":
            secret, _ = OtpSecret.objects.get_or_create(authenticator=authenticator)
            seed = otp.token_seed(authenticator.serial or "")
            value = otp.hotp_match(seed, code, secret.counter)
            if value is not None:
                secret.counter = value + 1
                secret.save(update_fields=["counter"])
                return authenticator
        elif method in CODE_CHANNELS:
            sent = (
                Delivery.objects.select_for_update()
                .filter(
                    end_user=user,
                    channel=method,
                    kind=MessageKind.CODE,
                    code=code,
                    used_at__isnull=True,
                    expires_at__gt=now,
                    status__in=[
                        DeliveryStatus.DELIVERED,
                        DeliveryStatus.DELAYED,
                        DeliveryStatus.FILTERED,
                    ],
                )
                .first()
            )
            if sent is not None:
                sent.used_at = now
                sent.save(update_fields=["used_at"])
                return authenticator
    return None


# --- Challenges ---------------------------------------------------------------------------


def _challenge(ctx: Context, attempt: Attempt, *, factor: str, device_id: int | None) -> Attempt:
    now, policy = ctx.now, ctx.policy
    if factor == AUTO:
        authenticator = _pick(ctx, device_id)
        if authenticator is None:
            methods = ", ".join(sorted({a.method for a in ctx.active}))
            return _finish(
                attempt,
                Decision(
                    "denied",
                    "factor_restricted",
                    f"None of the user's methods ({methods}) is allowed "
                    f"({policy.allowed_methods.source}).",
                ),
                now,
            )
    else:
        refused = _factor_refusal(ctx, factor)
        if refused is not None:
            return _finish(attempt, refused, now)
        authenticator = next(
            (
                a
                for a in ctx.active
                if a.method == factor and (device_id is None or a.device_id == device_id)
            ),
            None,
        )
        if authenticator is None:
            return _finish(
                attempt,
                Decision("denied", "no_activated_app", f"No active {factor} authenticator."),
                now,
            )
    restricted = _device_restriction(authenticator, policy)
    if restricted is not None:
        return _finish(attempt, restricted, now)

    attempt.factor = authenticator.method
    attempt.authenticator = authenticator
    attempt.device_id = authenticator.device_id
    timeout = timedelta(seconds=policy.code_timeout_seconds.value or 300)
    method = authenticator.method
    if method == "webauthn":
        if authenticator.device_id and _device_lost(authenticator.device_id):
            attempt.expires_at = now + timeout
            attempt.save()
            return attempt
        return _finish(
            attempt,
            Decision(
                "success", "user_approved", "Security key touched.", authenticator=authenticator
            ),
            now,
        )
    if method == "push":
        # A push prompt waits for its own, shorter timeout; codes keep the code timeout.
        attempt.expires_at = now + timedelta(seconds=policy.push_timeout_seconds.value or 60)
    else:
        attempt.expires_at = now + timeout
    if method in CODE_CHANNELS:
        window_start = now - timeout
        recent = Delivery.objects.filter(
            end_user=ctx.user, kind=MessageKind.CODE, channel=method, created_at__gt=window_start
        ).count()
        resend_limit = policy.resend_limit.value
        if resend_limit is not None and recent > resend_limit:
            attempt.save()
            refused = Delivery.objects.create(
                end_user=ctx.user,
                channel=method,
                kind=MessageKind.CODE,
                attempt=attempt,
                authenticator_id=authenticator.pk,
                recipient=delivery.recipient_for(ctx.user, method),
                status=DeliveryStatus.RATE_LIMITED,
                detail=f"Resend limit reached: {recent} codes in the last {timeout.seconds} s "
                f"({policy.resend_limit.source}).",
                created_at=now,
            )
            return _finish(attempt, Decision("error", "delivery_failed", refused.detail), now)
        attempt.save()
        code = delivery.new_code()
        delivery.queue_message(
            end_user=ctx.user,
            channel=method,
            kind=MessageKind.CODE,
            subject="Your sign-in code",
            body=f"Your sign-in code is {code}. It expires in {timeout.seconds // 60 or 1} min.",
            code=code,
            code_timeout_seconds=int(timeout.total_seconds()),
            attempt=attempt,
            authenticator_id=authenticator.pk,
        )
        return attempt
    attempt.save()
    if method == "push":
        push = Push.objects.create(
            end_user=ctx.user,
            device_id=authenticator.device_id,
            attempt=attempt,
            application=attempt.application,
            context=f"Sign in to {attempt.application or 'your account'}",
            created_at=now,
            expires_at=attempt.expires_at,
        )
        delivery.queue_push(push)
    # totp / hotp_token / backup_codes: waits for the passcode the user types.
    return attempt


def _pick(ctx: Context, device_id: int | None) -> Authenticator | None:
    usable = _usable_methods(ctx)
    candidates = [a for a in ctx.active if a.method in usable]
    if device_id is not None:
        on_device = [a for a in candidates if a.device_id == device_id]
        candidates = on_device or candidates
    if not candidates:
        return None
    default = ctx.policy.default_method.value

    def rank(a: Authenticator) -> tuple[int, int, int]:
        preference = PREFERENCE.index(a.method) if a.method in PREFERENCE else len(PREFERENCE)
        return (0 if a.method == default else 1, preference, a.pk)

    return min(candidates, key=rank)


def _device_lost(device_id: int) -> bool:
    return SimDevice.objects.filter(device_id=device_id, lost=True).exists()


# --- Answers to pushes --------------------------------------------------------------------


def answer_push(push_id: int, *, approve: bool, fraud: bool = False) -> Push | None:
    """The end user answers a push on their device.

    Side effects: the push (approved / denied / fraud), its sign-in attempt (success /
    user_approved, denied / user_denied, fraud / user_marked_fraud), a FraudReport for
    "this wasn't me", a remembered device under a new-devices-only policy, the device's
    last check-in. Returns None when the push is no longer pending."""
    with transaction.atomic():
        expire_pending()
        push = (
            Push.objects.select_for_update(of=("self",))
            .select_related("attempt", "end_user", "device")
            .filter(pk=push_id, status=PushStatus.PENDING)
            .first()
        )
        if push is None:
            return None
        now = clock.now()
        Device.objects.filter(pk=push.device_id).update(last_seen_at=now)
        push.resolved_at = now
        attempt = push.attempt
        if approve:
            push.status = PushStatus.APPROVED
            decision = Decision("success", "user_approved", "Approved on the device.")
            _reset_failures(sim_user(push.end_user))
            _remember(push)
        elif fraud:
            push.status = PushStatus.FRAUD
            decision = Decision("fraud", "user_marked_fraud", "The user said it was not them.")
            FraudReport.objects.create(
                end_user=push.end_user,
                push=push,
                detail=f"Marked as fraud: {push.context}",
                created_at=now,
            )
        else:
            push.status = PushStatus.DENIED
            decision = Decision("denied", "user_denied", "Denied on the device.")
        push.save(update_fields=["status", "resolved_at"])
        if attempt is not None and attempt.status == AttemptStatus.PENDING:
            _finish(attempt, decision, now)
        return push


def _remember(push: Push) -> None:
    policy = effective_policy(push.end_user, push.application or None)
    days = policy.remembered_device_days.value or 0
    if policy.enforcement.value == "new_devices_only" and days > 0 and push.attempt_id:
        SimDevice.objects.filter(device_id=push.device_id).update(
            remembered_until=clock.now() + timedelta(days=days)
        )


def open_fraud_reports(end_user_id: int):
    return FraudReport.objects.filter(end_user_id=end_user_id, resolved_at__isnull=True)
