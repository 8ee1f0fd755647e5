"""The oracle: what is wrong in a scenario's world and which ends are right, from its knobs
alone.

`verdict(scenario)` reads nothing but the parsed scenario (no database, no engine, no check,
no playbook) and follows how authsim's own sign-in decides (signin.py: the gate, enrollment
and memory, the factor, then the delivery or the code itself, delivery.py and otp.py):

- `root_causes`: every root cause (design.md) present on the way to a working sign-in, in the
  order a sign-in meets them. A fault that ends the case where it stands (a disabled user, an
  access rule, an open fraud report) hides what lies behind it, so nothing behind it is
  listed; a fault a session can fix (a lockout, a switched-off notification) lets the sign-in
  go on to the next one, which is listed too.
- `outcomes`: the outcomes that restore access or settle the case correctly; `outcome` is
  the primary one (the one a careful technician would reach).
- `own_method_fixable`: whether the user's own methods can be made to work in the session,
  so a bypass code would be wrong (it is true whenever `bypass_issued` is not accepted).
- `sign_in`: what the first sign-in (factor auto) reports, `(result, reason)`, or None when
  it cannot be told from the knobs alone; tests use it to check that a world shows its
  fault through the service.

The seed guides' order of remedies applies: fix the user's own method first, then another
method the user already holds, then re-enrollment on a device in hand, and a bypass code only
when none of those is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from authsim.scenarios import AuthenticatorSpec, DeviceSpec, Scenario
from authsim.vocab import APP_PLATFORMS, version_below
from enrollment.policy import DEFAULTS

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The order "auto" prefers when the default method is not available (signin.PREFERENCE).
PREFERENCE = ("push", "webauthn", "totp", "hotp_token", "sms", "voice", "email", "backup_codes")
CODE_CHANNELS = ("sms", "voice", "email")
APP_METHODS = ("push", "totp")
# A phone clock this far off makes every app code fall outside the service's window (one
# 30 s step either side, plus the code's own age).
SKEW_SECONDS = 60

PROMPT = "prompt_restored"
CODE = "code_accepted"
ENROLLED = "enrolled"
RE_ENROLLED = "re_enrolled"
BYPASS = "bypass_issued"
AS_DESIGNED = "working_as_designed"
TIER2 = "escalated_tier2"
SECURITY = "escalated_security"


@dataclass(frozen=True)
class Verdict:
    root_causes: tuple[str, ...]
    outcomes: frozenset[str]
    outcome: str
    own_method_fixable: bool
    sign_in: tuple[str, str] | None = None

    @property
    def root_cause(self) -> str:
        """The primary root cause: the first one a sign-in meets."""
        return self.root_causes[0] if self.root_causes else "no_fault_found"


@dataclass
class _Policy:
    values: dict[str, Any]
    groups: tuple[str, ...]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def exempt(self) -> bool:
        return any(g in (self["exempt_groups"] or ()) for g in self.groups)

    @property
    def permitted(self) -> bool:
        permitted = self["permitted_groups"] or ()
        return not permitted or any(g in permitted for g in self.groups)

    @property
    def timeout(self) -> int:
        return self["code_timeout_seconds"] or 300

    def usable(self) -> tuple[str, ...]:
        allowed = tuple(self["allowed_methods"] or ())
        default = self["default_method"]
        if not self["allow_fallback"] and default:
            return (default,) if default in allowed else ()
        return allowed


def effective_settings(scenario: Scenario) -> _Policy:
    """The policy that applies, from the file's policies alone (scenarios.md): defaults, then
    global, then the application's, then the user's groups ranked by priority and name; for
    each setting the most specific policy that sets it."""
    groups = tuple(scenario.user.groups)
    ranked = sorted(
        (p for p in scenario.policies if p.kind == "group" and p.target in groups),
        key=lambda p: (p.priority, p.target),
    )
    ranked += [
        p for p in scenario.policies if p.kind == "application" and p.target == scenario.application
    ]
    ranked += [p for p in scenario.policies if p.kind == "global"]
    values = dict(DEFAULTS)
    for name in DEFAULTS:
        for policy in ranked:
            settings = policy.settings()
            if name in settings:
                values[name] = settings[name]
                break
    return _Policy(values=values, groups=groups)


@dataclass
class _World:
    scenario: Scenario
    policy: _Policy
    devices: dict[str, DeviceSpec]
    authenticators: list[AuthenticatorSpec]
    causes: list[str] = field(default_factory=list)

    def device(self, auth: AuthenticatorSpec) -> DeviceSpec | None:
        return self.devices.get(auth.device) if auth.device else None

    def add(self, *causes: str) -> None:
        for cause in causes:
            if cause not in self.causes:
                self.causes.append(cause)


def verdict(scenario: Scenario) -> Verdict:
    """What is present in `scenario`'s world and which ends are right (module docstring)."""
    world = _World(
        scenario=scenario,
        policy=effective_settings(scenario),
        devices={d.key: d for d in scenario.devices},
        authenticators=scenario.resolved_authenticators(),
    )
    outcomes, primary, sign_in = _evaluate(world)
    return Verdict(
        root_causes=tuple(world.causes),
        outcomes=frozenset(outcomes),
        outcome=primary,
        own_method_fixable=BYPASS not in outcomes,
        sign_in=sign_in,
    )


def _evaluate(w: _World) -> tuple[set[str], str, tuple[str, str] | None]:
    user, policy = w.scenario.user, w.policy
    # 1-4: the gate. A disabled user, an access rule and a fraud report end the case.
    if user.status == "disabled":
        w.add("user_disabled")
        return {TIER2}, TIER2, ("denied", "user_disabled")
    if not policy.permitted:
        w.add("access_rule_denies")
        return {TIER2}, TIER2, ("denied", "denied_by_policy")
    locked_status = user.status == "locked_out"
    if user.fraud_reported:
        w.add("fraud_reported")
        return (
            {SECURITY},
            SECURITY,
            ("denied", "locked_out")
            if locked_status
            else (
                "fraud",
                "user_marked_fraud",
            ),
        )
    failures = max((a.failure_count for a in w.authenticators), default=0)
    limit = policy["max_invalid_attempts"]
    locked = locked_status or bool(limit and failures >= limit)
    first: tuple[str, str] | None = ("denied", "locked_out") if locked_status else None
    if locked:
        w.add("user_locked_out")

    active = [a for a in w.authenticators if a.status == "active"]
    # 5-7: no prompt by design.
    if not policy["mfa_enabled"] or policy.exempt:
        w.add("mfa_disabled" if active else "enrollment_not_enforced")
        return {AS_DESIGNED}, AS_DESIGNED, first or ("success", "allowed_by_policy")
    if user.session_valid:
        if active:
            w.add("session_still_valid")
            return {AS_DESIGNED}, AS_DESIGNED, first or ("success", "valid_session")
        w.add("enrollment_not_enforced")
        return {ENROLLED, AS_DESIGNED}, ENROLLED, first or ("success", "valid_session")

    # 9: nothing active.
    if not active:
        outcomes, primary, reason = _not_enrolled(w)
        return outcomes, primary, first or reason
    if locked and first is None:
        first = ("denied", "locked_out")

    # 10: a remembered device lets the sign-in through without a factor.
    days = policy["remembered_device_days"] or 0
    if policy["enforcement"] == "new_devices_only" and days > 0:
        held = {a.device for a in active if a.device}
        if any(w.devices[k].remembered for k in held):
            w.add("remembered_device")
            return {AS_DESIGNED}, AS_DESIGNED, first or ("success", "remembered_device")

    # A new phone to move to, the old one still working: the move is the case.
    spare = _spare_phones(w, active)
    if w.scenario.complaint == "lost_device" and spare and not _lost_any(w, active):
        w.add("enrollment_incomplete")
        return {RE_ENROLLED}, RE_ENROLLED, first

    # 11: the factor the policy lets this user use.
    outcomes, primary, reason = _factor(w, active)
    return outcomes, primary, first or reason


def _not_enrolled(w: _World) -> tuple[set[str], str, tuple[str, str] | None]:
    scenario, policy = w.scenario, w.policy
    enrollment = scenario.enrollment
    pending = [a for a in w.authenticators if a.status == "pending_activation"]
    disabled = [a for a in w.authenticators if a.status == "disabled"]
    if pending:
        reason: tuple[str, str] = ("denied", "no_activated_app")
        for auth in pending:
            device = w.device(auth)
            if device is None:
                continue
            if auth.method in APP_METHODS and device.platform in APP_PLATFORMS:
                if _os_too_old(w, device):
                    reason = ("denied", "platform_restricted")
                    break
                if _app_too_old(w, device):
                    reason = ("denied", "out_of_date")
                    break
        for auth in pending:
            _enrollment_faults(w, auth)
        if not w.causes or w.causes == ["user_locked_out"]:
            w.add("enrollment_incomplete")
        return {ENROLLED}, ENROLLED, reason
    if disabled:
        w.add("authenticator_disabled")
        return {RE_ENROLLED, ENROLLED}, RE_ENROLLED, ("denied", "no_activated_app")
    # No authenticator at all.
    required = policy["enrollment_required"]
    reason = ("denied", "deny_unenrolled_user") if required else ("success", "allowed_by_policy")
    if policy["default_method"] not in (policy["allowed_methods"] or ()):
        w.add("policy_misconfiguration")
        return {TIER2}, TIER2, reason
    if not required:
        w.add("enrollment_not_enforced")
        return {ENROLLED, AS_DESIGNED}, ENROLLED, reason
    link_open = scenario.user.status == "pending_enrollment" or enrollment.stage not in (
        "activated",
        "verified",
    )
    if link_open and (enrollment.error == "link_expired" or enrollment.link_expires_in_hours < 0):
        w.add("enrollment_link_expired")
    elif (
        link_open
        and scenario.user.email
        and scenario.providers.email.sender_filtered
        and enrollment.stage == "invited"
    ):
        w.add("activation_email_not_received")
    elif scenario.user.status == "pending_enrollment":
        w.add("enrollment_incomplete")
    else:
        w.add("no_authenticator")
    return {ENROLLED}, ENROLLED, reason


def _enrollment_faults(w: _World, auth: AuthenticatorSpec) -> None:
    enrollment = w.scenario.enrollment
    device = w.device(auth)
    error = enrollment.error
    if error == "activation_expired" or enrollment.activation_expires_in_hours < 0:
        w.add("activation_link_expired")
    if error == "device_incompatible" or (
        device is not None
        and auth.method in APP_METHODS
        and device.platform in APP_PLATFORMS
        and _os_too_old(w, device)
    ):
        w.add("device_incompatible")
    if error == "duplicate_name":
        w.add("duplicate_authenticator_name")
    if error == "invalid_key":
        w.add("invalid_manual_key")
    if error == "invalid_serial" or (
        auth.method == "hotp_token" and device is not None and _serial_differs(auth, device)
    ):
        w.add("invalid_token_serial")
    if device is not None and auth.method in APP_METHODS and device.platform in APP_PLATFORMS:
        if not _reachable(device):
            w.add("network_unreachable")
        if not device.camera_permission and error != "invalid_key":
            w.add("qr_scan_blocked")


def _factor(w: _World, active: list[AuthenticatorSpec]):
    policy = w.policy
    usable = policy.usable()
    candidates = [a for a in active if a.method in usable]
    default = policy["default_method"]
    others_refused = [
        a for a in active if a.method != default and a.method in (policy["allowed_methods"] or ())
    ]
    if not policy["allow_fallback"] and default and others_refused:
        # The user reaches for a method the policy refuses without fallback.
        w.add("fallback_disabled")
        if not candidates:
            return (
                {AS_DESIGNED, RE_ENROLLED, ENROLLED, TIER2},
                AS_DESIGNED,
                ("denied", "factor_restricted"),
            )
        # The default method itself works: nothing else to fix (unless it is broken too).
        chosen = _pick(w, candidates)
        faults = _method_faults(w, chosen)
        if not faults:
            return {AS_DESIGNED}, AS_DESIGNED, _success_reason(chosen)
    if not candidates:
        w.add("policy_misconfiguration")
        return {TIER2}, TIER2, ("denied", "factor_restricted")

    chosen = _pick(w, candidates)
    faults = _method_faults(w, chosen)
    if not faults:
        if chosen.method == "voice" and not w.scenario.user.phone and not w.causes:
            # No office line on record: the call goes to the mobile, as designed; the missing
            # line is what the caller ran into.
            w.add("otp_channel_unavailable")
            return {AS_DESIGNED, CODE}, AS_DESIGNED, _success_reason(chosen)
        return _working(chosen), _working_primary(chosen), _success_reason(chosen)
    w.add(*faults)
    sign_in = _failure_reason(w, chosen, faults)
    fixable = _fixable_in_place(faults)
    if fixable:
        return _working(chosen), _working_primary(chosen), sign_in
    # The chosen method cannot be fixed by the caller: another method the user holds, a
    # device in hand to enroll, or (only then) a bypass code.
    alternatives = [a for a in candidates if a is not chosen and not _method_faults(w, a)]
    if alternatives:
        outcomes: set[str] = set()
        for alt in alternatives:
            outcomes |= _working(alt)
        primary = _working_primary(_pick(w, alternatives))
        if "lost_device" in faults and _spare_phones(w, active):
            outcomes.add(RE_ENROLLED)
        return outcomes, primary, sign_in
    if "lost_device" in faults:
        if _spare_phones(w, active):
            return {RE_ENROLLED}, RE_ENROLLED, sign_in
        return {BYPASS}, BYPASS, sign_in
    if [f for f in faults if f not in IN_PLACE] == ["otp_channel_unavailable"]:
        # Only the missing number or address stands in the way.
        if chosen.method == "sms" and w.scenario.user.own_mobile:
            # The caller can give the number: the record is corrected and the code comes.
            return {CODE, ENROLLED}, CODE, sign_in
        return {AS_DESIGNED, TIER2, ENROLLED}, AS_DESIGNED, sign_in
    # A provider or a directory record the desk cannot fix from the call.
    return {TIER2}, TIER2, sign_in


def _pick(w: _World, candidates: list[AuthenticatorSpec]) -> AuthenticatorSpec:
    default = w.policy["default_method"]
    order = {id(a): i for i, a in enumerate(w.authenticators)}

    def rank(a: AuthenticatorSpec) -> tuple[int, int, int]:
        preference = PREFERENCE.index(a.method) if a.method in PREFERENCE else len(PREFERENCE)
        return (0 if a.method == default else 1, preference, order.get(id(a), 0))

    return min(candidates, key=rank)


def _method_faults(w: _World, auth: AuthenticatorSpec) -> list[str]:
    """The faults between `auth` and a working sign-in, in the order a sign-in meets them."""
    scenario, policy = w.scenario, w.policy
    device = w.device(auth)
    providers = scenario.providers
    faults: list[str] = []
    method = auth.method
    if device is not None and device.lost:
        return ["lost_device"]
    if method in APP_METHODS and device is not None and device.platform in APP_PLATFORMS:
        if _os_too_old(w, device):
            faults.append("device_incompatible")
        elif _app_too_old(w, device):
            faults.append("app_outdated")
    if method == "push":
        if device is None or device.platform not in APP_PLATFORMS:
            return faults
        if not _reachable(device):
            faults.append("device_offline")
        if not device.push_token_valid:
            faults.append("push_token_stale")
        if not device.notifications_enabled:
            faults.append("push_notifications_disabled")
    elif method == "totp":
        if device is not None and abs(device.clock_offset_seconds) >= SKEW_SECONDS:
            faults.append("clock_skew")
    elif method == "hotp_token":
        if device is not None and _serial_differs(auth, device):
            faults.append("invalid_token_serial")
    elif method == "sms":
        sms = providers.sms
        mobile = scenario.user.mobile
        if not sms.configured:
            faults.append("sms_provider_unconfigured")
        elif not sms.healthy:
            faults.append("sms_provider_unhealthy")
        elif sms.rate_limited:
            faults.append("sms_rate_limited")
        if not mobile:
            faults.append("otp_channel_unavailable")
        elif not E164.match(mobile):
            faults.append("phone_number_invalid")
        if not faults:
            if sms.carrier_delay_seconds > policy.timeout:
                faults.append("carrier_delay")
            elif sms.carrier_delay_seconds + scenario.user.response_delay_seconds > policy.timeout:
                faults.append("code_expired")
    elif method == "voice":
        number = scenario.user.phone or scenario.user.mobile
        if not providers.voice.healthy or not number:
            faults.append("otp_channel_unavailable")
        elif not E164.match(number):
            faults.append("phone_number_invalid")
        elif scenario.user.response_delay_seconds > policy.timeout:
            faults.append("code_expired")
    elif method == "email":
        email = scenario.user.email
        if not providers.email.healthy or not email or not EMAIL.match(email):
            faults.append("otp_channel_unavailable")
        else:
            if providers.email.sender_filtered:
                faults.append("email_code_filtered")
            if scenario.user.response_delay_seconds > policy.timeout:
                faults.append("code_expired")
    elif method == "backup_codes" and auth.remaining_codes == 0:
        faults.append("no_authenticator")
    return faults


# Faults the caller or the desk fixes on the user's own method, in the session.
IN_PLACE = frozenset(
    {
        "device_incompatible",
        "app_outdated",
        "device_offline",
        "push_token_stale",
        "push_notifications_disabled",
        "clock_skew",
        "invalid_token_serial",
        "email_code_filtered",
        "code_expired",
    }
)


def _fixable_in_place(faults: Iterable[str]) -> bool:
    return all(f in IN_PLACE for f in faults)


def _working(auth: AuthenticatorSpec) -> set[str]:
    return {PROMPT} if auth.method in ("push", "webauthn") else {CODE}


def _working_primary(auth: AuthenticatorSpec) -> str:
    return next(iter(_working(auth)))


def _success_reason(auth: AuthenticatorSpec) -> tuple[str, str]:
    if auth.method in ("push", "webauthn"):
        return ("success", "user_approved")
    return ("success", "valid_passcode")


def _failure_reason(w: _World, auth: AuthenticatorSpec, faults: list[str]) -> tuple[str, str]:
    first = faults[0]
    if first == "device_incompatible":
        return ("denied", "platform_restricted")
    if first == "app_outdated":
        return ("denied", "out_of_date")
    if first in ("clock_skew", "invalid_token_serial", "code_expired"):
        return ("denied", "invalid_passcode")
    if auth.method in CODE_CHANNELS and first not in ("carrier_delay", "email_code_filtered"):
        return ("error", "delivery_failed")
    return ("denied", "no_response")


def _reachable(device: DeviceSpec) -> bool:
    return device.online and device.network != "none"


def _os_too_old(w: _World, device: DeviceSpec) -> bool:
    minimum = (w.policy["min_os_versions"] or {}).get(device.platform)
    return version_below(device.os_version, minimum)


def _app_too_old(w: _World, device: DeviceSpec) -> bool:
    return version_below(device.app_version, w.policy["min_app_version"])


def _serial_differs(auth: AuthenticatorSpec, device: DeviceSpec) -> bool:
    printed = (device.serial or "").strip().upper()
    return bool(printed) and printed != (auth.serial or "").strip().upper()


def _lost_any(w: _World, active: list[AuthenticatorSpec]) -> bool:
    return any((d := w.device(a)) is not None and d.lost for a in active)


def _spare_phones(w: _World, active: list[AuthenticatorSpec]) -> list[DeviceSpec]:
    """Phones in the user's hand that hold none of their authenticators: where a new
    authenticator can be enrolled."""
    held = {a.device for a in w.authenticators if a.device and a.status != "revoked"}
    return [
        d
        for d in w.devices.values()
        if d.platform in APP_PLATFORMS and not d.lost and d.key not in held
    ]
