"""Generated worlds: random scenario files with one or two faults, for measuring diagnosis on
cases nobody on the team wrote.

`generate(seed=S, count=N, faults=1|2)` returns N scenario documents (plain dicts in the
scenarios.md format). Each world is drawn from its own random stream (seed and index), so a
seed always gives the same files and world 7 does not change when the count grows:

1. a base: who the user is and what they sign in with (a phone with push or app codes, a
   hardware token, texts, calls, email codes, a half-finished enrollment, an invitation),
   with platforms, OS and app versions, groups, privileged users and users in bypass status;
2. policies at every scope around it (global, the application's, the user's groups ranked by
   priority, exempt and permitted groups, new-devices-only with remembered devices) and the
   delivery providers, all set so that on their own they break nothing;
3. one or two faults composed from the fault model's knobs, then a complaint drawn from
   what a caller with those faults might say (a misleading one now and then);
4. the `expected` block from the oracle (authsim.oracle), which reads only the knobs: a draw
   is kept only when the oracle finds exactly the faults that were put in, so every file
   says what it holds.

Every document passes the loader (`parse_scenario`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authsim.oracle import verdict
from authsim.scenarios import parse_scenario

FIRST = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kemal",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma",
         "Viktor", "Wen", "Yara", "Zoe")  # fmt: skip
LAST = ("Adler", "Baker", "Costa", "Diaz", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito",
        "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Park", "Quint", "Rossi",
        "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Yilmaz", "Zhou")  # fmt: skip
GROUPS = ("Sales", "Finance", "Engineering", "Support", "Warehouse", "Legal", "Marketing",
          "Field Service", "Research", "Operations")  # fmt: skip
APPLICATIONS = (None, "VPN", "Payroll", "HR Portal", "Wiki", "Code Portal", "Mail")
IOS_VERSIONS = ("16.4", "16.7", "17.2", "17.4", "17.6", "18.0", "18.1")
ANDROID_VERSIONS = ("12", "13", "14", "15")
OLD_OS = {"ios": ("14.8", "15.2", "15.7"), "android": ("9", "10", "11")}
APP_VERSIONS = ("4.20", "4.52", "4.80", "4.82", "4.90", "5.01")
OLD_APP = ("3.4", "3.9")
TIMEOUTS = (120, 180, 300, 600)
ALL_METHODS = ("push", "totp", "sms", "voice", "email", "hotp_token", "webauthn", "backup_codes")

Doc = dict[str, Any]


@dataclass(frozen=True)
class Fault:
    """One fault of the fault model: the root cause it produces, the bases it fits, how it
    is put into a world, and what a caller with it might say (the first is the usual one)."""

    cause: str
    bases: tuple[str, ...]
    apply: Callable[[random.Random, Doc], None]
    complaints: tuple[str, ...]
    # Ends the case where it stands (or is working as designed): never combined.
    alone: bool = False


# --- World pieces -----------------------------------------------------------------------------


def _phone(rng: random.Random, key: str = "phone") -> Doc:
    platform = rng.choice(("ios", "android"))
    versions = IOS_VERSIONS if platform == "ios" else ANDROID_VERSIONS
    return {
        "key": key,
        "platform": platform,
        "os_version": rng.choice(versions),
        "app_version": rng.choice(APP_VERSIONS),
        "network": rng.choice(("wifi", "wifi", "cellular")),
    }


def _number(rng: random.Random, prefix: str = "+1415555") -> str:
    return f"{prefix}{rng.randrange(1000, 9999)}"


def _auth(doc: Doc, method: str) -> Doc | None:
    return next((a for a in doc.get("authenticators", []) if a["method"] == method), None)


def _device(doc: Doc, key: str) -> Doc:
    return next(d for d in doc["devices"] if d["key"] == key)


def _main_device(doc: Doc) -> Doc:
    main = doc["_main"]
    return _device(doc, _auth(doc, main)["device"])


def _global(doc: Doc) -> Doc:
    for policy in doc["policies"]:
        if policy["scope"] == "global":
            return policy
    policy = {"scope": "global"}
    doc["policies"].insert(0, policy)
    return policy


def _app_policy(doc: Doc) -> Doc:
    app = doc.get("application") or "VPN"
    doc["application"] = app
    for policy in doc["policies"]:
        if policy["scope"] == f"application:{app}":
            return policy
    policy = {"scope": f"application:{app}"}
    doc["policies"].append(policy)
    return policy


def _base(rng: random.Random, base: str, index: int) -> Doc:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    username = f"{first.lower()}.{last.lower()}.g{index}"
    groups = rng.sample(GROUPS, rng.choice((1, 1, 2)))
    user: Doc = {
        "username": username,
        "full_name": f"{first} {last}",
        "email": f"{username}@example.com",
        "mobile": _number(rng),
        "groups": groups,
    }
    if rng.random() < 0.4:
        user["phone"] = _number(rng, "+1415444")
    if rng.random() < 0.15:
        user["privileged"] = True
    if rng.random() < 0.08:
        user["status"] = "bypass"
    doc: Doc = {
        "id": "",
        "complaint": "missing_prompt",
        "application": rng.choice(APPLICATIONS),
        "user": user,
        "devices": [],
        "authenticators": [],
        "policies": [],
    }
    if base in ("push", "totp", "pending", "pending_totp"):
        phone = _phone(rng)
        doc["devices"].append(phone)
        method = "totp" if base in ("totp", "pending_totp") else "push"
        status = "pending_activation" if base.startswith("pending") else "active"
        doc["authenticators"].append(
            {"method": method, "device": "phone", "status": status, "name": f"{first}'s phone"}
        )
        if base == "totp":
            _global(doc)["default_method"] = "totp"
        if status == "pending_activation":
            user["status"] = "pending_enrollment"
            user.pop("privileged", None)
            doc["enrollment"] = {"stage": "app_installed"}
        doc["_main"] = method
    elif base in ("token", "pending_token"):
        serial = f"HT-{rng.randrange(100000, 999999)}{index % 10}"
        doc["devices"].append(
            {
                "key": "token",
                "platform": "hardware_token",
                "os_version": "",
                "app_installed": False,
                "app_version": None,
                "serial": serial,
            }
        )
        status = "pending_activation" if base == "pending_token" else "active"
        doc["authenticators"].append(
            {"method": "hotp_token", "device": "token", "status": status, "serial": serial}
        )
        _global(doc)["default_method"] = "hotp_token"
        if status == "pending_activation":
            user["status"] = "pending_enrollment"
            user.pop("privileged", None)
            doc["enrollment"] = {"stage": "code_scanned"}
        doc["_main"] = "hotp_token"
    elif base in ("sms", "voice", "email"):
        doc["devices"] = []
        doc["authenticators"].append({"method": base, "status": "active"})
        if base == "voice":
            user["phone"] = _number(rng, "+1415444")
        if rng.random() < 0.5 or base != "sms":
            _global(doc)["default_method"] = base
        doc["_main"] = base
    elif base == "invited":
        doc["devices"] = [_phone(rng)]
        doc["authenticators"] = []
        user["status"] = "pending_enrollment"
        user.pop("privileged", None)
        doc["enrollment"] = {"stage": "invited"}
        doc["_main"] = None
    return doc


def _surroundings(rng: random.Random, doc: Doc) -> None:
    """Policies at every scope and providers that, on their own, break nothing."""
    user = doc["user"]
    glob = _global(doc)
    if rng.random() < 0.5:
        glob["code_timeout_seconds"] = rng.choice(TIMEOUTS)
    if rng.random() < 0.4:
        glob["max_invalid_attempts"] = rng.choice((3, 5, 10, None))
    if rng.random() < 0.3:
        glob["resend_limit"] = rng.choice((3, 5))
    if rng.random() < 0.3:
        glob["min_os_versions"] = {"ios": "16.0", "android": "12"}
    if rng.random() < 0.25:
        # Remembered devices are on, but none of this user's devices is remembered.
        glob["enforcement"] = "new_devices_only"
        glob["remembered_device_days"] = rng.choice((7, 30))
    others = [g for g in GROUPS if g not in user["groups"]]
    if rng.random() < 0.3:
        glob["exempt_groups"] = rng.sample(others, 1)
    if doc.get("application") and rng.random() < 0.5:
        app = _app_policy(doc)
        if rng.random() < 0.5:
            # Permitted through one of the user's groups.
            app["permitted_groups"] = [rng.choice(user["groups"]), rng.choice(others)]
        if rng.random() < 0.5:
            app["code_timeout_seconds"] = rng.choice(TIMEOUTS)
    for position, group in enumerate(user["groups"]):
        if rng.random() < 0.5:
            policy: Doc = {"scope": f"group:{group}"}
            if len(user["groups"]) > 1:
                policy["priority"] = rng.choice((10, 20, 50, 100)) + position
            if rng.random() < 0.5:
                policy["code_timeout_seconds"] = rng.choice(TIMEOUTS)
            if rng.random() < 0.3:
                policy["max_invalid_attempts"] = rng.choice((5, 10))
            doc["policies"].append(policy)
    if rng.random() < 0.3:
        doc["providers"] = {"sms": {"carrier_delay_seconds": rng.choice((5, 20, 40))}}


def _add_alternative(rng: random.Random, doc: Doc) -> None:
    """A second method the user holds, so a broken channel has somewhere to fall back."""
    choice = rng.choice(("voice", "totp", "none"))
    if choice == "voice":
        doc["user"]["phone"] = _number(rng, "+1415444")
        doc["authenticators"].append({"method": "voice", "status": "active"})
    elif choice == "totp" and not any(d["key"] == "app-phone" for d in doc["devices"]):
        doc["devices"].append(_phone(rng, "app-phone"))
        doc["authenticators"].append({"method": "totp", "device": "app-phone", "status": "active"})


# --- Faults -------------------------------------------------------------------------------


def _set_device(**fields) -> Callable[[random.Random, Doc], None]:
    def apply(rng: random.Random, doc: Doc) -> None:
        _main_device(doc).update(fields)

    return apply


def _offline(rng: random.Random, doc: Doc) -> None:
    _main_device(doc).update(online=False, network="none")


def _old_app(rng: random.Random, doc: Doc) -> None:
    _main_device(doc)["app_version"] = rng.choice(OLD_APP)
    _global(doc)["min_app_version"] = "4.0"


def _old_os(rng: random.Random, doc: Doc) -> None:
    device = _main_device(doc)
    device["os_version"] = rng.choice(OLD_OS[device["platform"]])
    _global(doc)["min_os_versions"] = {"ios": "16.0", "android": "12"}
    if doc["user"].get("status") == "pending_enrollment":
        doc["enrollment"]["error"] = "device_incompatible"


def _skew(rng: random.Random, doc: Doc) -> None:
    _main_device(doc).update(
        clock_offset_seconds=rng.choice((-300, -180, 120, 240, 420)), automatic_time=False
    )


def _lost(rng: random.Random, doc: Doc) -> None:
    _main_device(doc)["lost"] = True
    roll = rng.random()
    if roll < 0.25:
        doc["authenticators"].append({"method": "backup_codes", "remaining_codes": 6})
    elif roll < 0.5:
        spare = _phone(rng, "new-phone")
        doc["devices"].append(spare)


def _locked(rng: random.Random, doc: Doc) -> None:
    limit = rng.choice((3, 5))
    _global(doc)["max_invalid_attempts"] = limit
    for policy in doc["policies"]:
        if policy["scope"] != "global":
            policy.pop("max_invalid_attempts", None)
    doc["user"]["status"] = "locked_out"
    doc["authenticators"][0]["failure_count"] = limit


def _disabled_user(rng: random.Random, doc: Doc) -> None:
    doc["user"]["status"] = "disabled"


def _access_rule(rng: random.Random, doc: Doc) -> None:
    app = _app_policy(doc)
    outside = [g for g in GROUPS if g not in doc["user"]["groups"]]
    app["permitted_groups"] = rng.sample(outside, 2)


def _fraud(rng: random.Random, doc: Doc) -> None:
    doc["user"]["fraud_reported"] = True


def _mfa_off(rng: random.Random, doc: Doc) -> None:
    if rng.random() < 0.5:
        _app_policy(doc)["mfa_enabled"] = False
    else:
        _global(doc)["exempt_groups"] = [doc["user"]["groups"][0]]


def _session(rng: random.Random, doc: Doc) -> None:
    doc["user"]["session_valid"] = True


def _remembered(rng: random.Random, doc: Doc) -> None:
    glob = _global(doc)
    glob["enforcement"] = "new_devices_only"
    glob["remembered_device_days"] = rng.choice((14, 30))
    _main_device(doc)["remembered"] = True


def _misconfigured(rng: random.Random, doc: Doc) -> None:
    held = {a["method"] for a in doc["authenticators"]}
    allowed = [m for m in ALL_METHODS if m not in held and m != "push"][:2]
    policy = _app_policy(doc)
    policy["allowed_methods"] = allowed
    policy["default_method"] = allowed[0]


def _no_fallback(rng: random.Random, doc: Doc) -> None:
    main = doc["_main"]
    other = "sms" if main != "sms" else "voice"
    if other == "voice":
        doc["user"]["phone"] = _number(rng, "+1415444")
    doc["authenticators"].append({"method": other, "status": "active"})
    policy = _global(doc)
    policy["allow_fallback"] = False
    policy["default_method"] = rng.choice((main, "totp" if main != "totp" else "email"))


def _auth_disabled(rng: random.Random, doc: Doc) -> None:
    for auth in doc["authenticators"]:
        auth["status"] = "disabled"


def _sms(**providers) -> Callable[[random.Random, Doc], None]:
    def apply(rng: random.Random, doc: Doc) -> None:
        doc.setdefault("providers", {}).setdefault("sms", {}).update(providers)
        doc["providers"]["sms"].setdefault("carrier_delay_seconds", 0)
        if rng.random() < 0.5:
            _add_alternative(rng, doc)

    return apply


def _carrier_delay(rng: random.Random, doc: Doc) -> None:
    timeout = rng.choice((60, 120))
    _force_timeout(doc, timeout)
    doc.setdefault("providers", {})["sms"] = {"carrier_delay_seconds": timeout * 3}
    if rng.random() < 0.5:
        _add_alternative(rng, doc)


def _force_timeout(doc: Doc, timeout: int) -> None:
    for policy in doc["policies"]:
        policy.pop("code_timeout_seconds", None)
    _global(doc)["code_timeout_seconds"] = timeout


def _bad_number(rng: random.Random, doc: Doc) -> None:
    key = "phone" if doc["_main"] == "voice" else "mobile"
    doc["user"][key] = rng.choice(("4155550123", "+0155501", "555-0199", "+1 415 555"))
    if key == "mobile" and doc["_main"] == "voice":
        doc["user"].pop("phone", None)
    if doc["_main"] == "sms" and rng.random() < 0.5:
        _add_alternative(rng, doc)


def _no_mobile(rng: random.Random, doc: Doc) -> None:
    doc["user"]["own_mobile"] = doc["user"].pop("mobile")


def _late(rng: random.Random, doc: Doc) -> None:
    timeout = rng.choice((60, 120))
    _force_timeout(doc, timeout)
    doc["user"]["response_delay_seconds"] = timeout + rng.choice((30, 90, 200))
    doc.setdefault("providers", {})["sms"] = {"carrier_delay_seconds": 0}


def _email_filtered(rng: random.Random, doc: Doc) -> None:
    doc.setdefault("providers", {})["email"] = {"sender_filtered": True}


def _enrollment(**fields) -> Callable[[random.Random, Doc], None]:
    def apply(rng: random.Random, doc: Doc) -> None:
        doc["enrollment"].update(fields)

    return apply


def _duplicate(rng: random.Random, doc: Doc) -> None:
    """The new authenticator's name is taken by the old one, still on record."""
    pending = _auth(doc, "push")
    doc["devices"].append({**_phone(rng, "old-phone"), "lost": True})
    doc["authenticators"].append(
        {"method": "push", "device": "old-phone", "status": "revoked", "name": pending["name"]}
    )
    doc["enrollment"]["error"] = "duplicate_name"


def _token_mistyped(rng: random.Random, doc: Doc) -> None:
    doc["enrollment"]["error"] = "invalid_serial"
    if rng.random() < 0.5:
        # The record itself holds a wrong serial (two digits swapped).
        serial = _device(doc, "token")["serial"]
        swapped = serial[:3] + serial[4] + serial[3] + serial[5:]
        if swapped != serial:
            _auth(doc, "hotp_token")["serial"] = swapped


def _token_record_wrong(rng: random.Random, doc: Doc) -> None:
    auth = _auth(doc, "hotp_token")
    serial = auth["serial"]
    auth["serial"] = serial[:3] + str((int(serial[3]) + 1) % 10) + serial[4:]


def _link_expired(rng: random.Random, doc: Doc) -> None:
    doc["enrollment"].update(error="link_expired", link_expires_in_hours=-rng.choice((24, 72)))


def _invite_filtered(rng: random.Random, doc: Doc) -> None:
    doc.setdefault("providers", {})["email"] = {"sender_filtered": True}


def _never_enrolled(rng: random.Random, doc: Doc) -> None:
    doc["user"]["status"] = "active"


def _not_required(rng: random.Random, doc: Doc) -> None:
    _global(doc)["enrollment_required"] = False


def _nothing(rng: random.Random, doc: Doc) -> None:
    """The fault is the base itself (an enrollment never finished)."""


PHONE = ("push", "totp")
CODES = ("code_not_received", "code_rejected", "locked_out")
FAULTS: tuple[Fault, ...] = (
    Fault("push_notifications_disabled", ("push",), _set_device(notifications_enabled=False),
          ("missing_prompt", "missing_prompt", "lost_device", "code_not_received")),
    Fault("device_offline", ("push",), _offline, ("missing_prompt", "locked_out")),
    Fault("push_token_stale", ("push",), _set_device(push_token_valid=False),
          ("missing_prompt", "code_not_received")),
    Fault("app_outdated", PHONE, _old_app, ("missing_prompt", "code_rejected")),
    Fault("device_incompatible", (*PHONE, "pending"), _old_os,
          ("missing_prompt", "enrollment_failure", "code_rejected")),
    Fault("clock_skew", ("totp",), _skew, ("code_rejected", "code_rejected", "locked_out")),
    Fault("lost_device", (*PHONE, "token"), _lost, ("lost_device", "lost_device", "locked_out",
                                                      "missing_prompt")),
    Fault("user_locked_out", (*PHONE, "token", "sms", "voice", "email"), _locked,
          ("locked_out", "locked_out", "code_rejected", "missing_prompt")),
    Fault("user_disabled", (*PHONE, "sms", "token"), _disabled_user,
          ("locked_out", "missing_prompt", "code_rejected"), alone=True),
    Fault("access_rule_denies", (*PHONE, "sms", "token"), _access_rule,
          ("locked_out", "code_rejected", "missing_prompt"), alone=True),
    Fault("fraud_reported", (*PHONE, "sms"), _fraud,
          ("locked_out", "missing_prompt", "lost_device"), alone=True),
    Fault("mfa_disabled", (*PHONE, "sms"), _mfa_off, ("missing_prompt", "code_not_received"),
          alone=True),
    Fault("session_still_valid", (*PHONE, "sms", "email"), _session,
          ("missing_prompt", "code_not_received"), alone=True),
    Fault("remembered_device", PHONE, _remembered, ("missing_prompt",), alone=True),
    Fault("policy_misconfiguration", (*PHONE, "sms"), _misconfigured,
          ("locked_out", "missing_prompt", "code_not_received"), alone=True),
    Fault("fallback_disabled", ("push", "sms"), _no_fallback,
          ("code_not_received", "missing_prompt", "locked_out"), alone=True),
    Fault("authenticator_disabled", (*PHONE, "token"), _auth_disabled,
          ("code_not_received", "missing_prompt", "code_rejected", "locked_out")),
    Fault("invalid_token_serial", ("token",), _token_record_wrong, ("code_rejected", "locked_out")),
    Fault("invalid_token_serial", ("pending_token",), _token_mistyped, ("enrollment_failure",)),
    Fault("sms_provider_unconfigured", ("sms",), _sms(configured=False), CODES),
    Fault("sms_provider_unhealthy", ("sms",), _sms(healthy=False), CODES),
    Fault("sms_rate_limited", ("sms",), _sms(rate_limited=True), CODES),
    Fault("phone_number_invalid", ("sms", "voice"), _bad_number, CODES),
    Fault("carrier_delay", ("sms",), _carrier_delay, CODES),
    Fault("code_expired", ("sms", "voice", "email"), _late, ("code_rejected", "code_not_received")),
    Fault("otp_channel_unavailable", ("sms",), _no_mobile, ("code_not_received",
                                                           "enrollment_failure")),
    Fault("email_code_filtered", ("email",), _email_filtered, ("code_not_received", "locked_out")),
    Fault("network_unreachable", ("pending", "pending_totp"), _offline,
          ("enrollment_failure", "enrollment_failure", "code_not_received")),
    Fault("qr_scan_blocked", ("pending", "pending_totp"), _set_device(camera_permission=False),
          ("enrollment_failure",)),
    Fault("activation_link_expired", ("pending", "pending_totp"),
          _enrollment(error="activation_expired", activation_expires_in_hours=-24),
          ("enrollment_failure", "code_not_received")),
    Fault("duplicate_authenticator_name", ("pending",), _duplicate,
          ("enrollment_failure",)),
    Fault("invalid_manual_key", ("pending_totp",), _enrollment(error="invalid_key"),
          ("enrollment_failure", "code_rejected")),
    Fault("enrollment_incomplete", ("pending",), _nothing, ("enrollment_failure", "missing_prompt"),
          alone=True),
    Fault("enrollment_link_expired", ("invited",), _link_expired,
          ("enrollment_failure", "code_not_received")),
    Fault("activation_email_not_received", ("invited",), _invite_filtered,
          ("enrollment_failure", "code_not_received")),
    Fault("no_authenticator", ("invited",), _never_enrolled,
          ("locked_out", "enrollment_failure", "code_rejected"), alone=True),
    Fault("enrollment_not_enforced", ("invited",), _not_required, ("enrollment_failure",),
          alone=True),
)  # fmt: skip

# Bases whose faults stack into a two-fault world, and the second faults they take.
BASES = ("push", "totp", "token", "pending_token", "sms", "voice", "email", "pending",
         "pending_totp", "invited")  # fmt: skip


def fault_causes() -> tuple[str, ...]:
    """Every root cause the generator can put into a world."""
    return tuple(dict.fromkeys(f.cause for f in FAULTS))


def _draw(rng: random.Random, index: int, faults: int) -> Doc:
    if faults == 1:
        first = rng.choice(FAULTS)
        base = rng.choice(first.bases)
        chosen = [first]
    else:
        stacking = [f for f in FAULTS if not f.alone]
        first = rng.choice(stacking)
        base = rng.choice(first.bases)
        seconds = [f for f in stacking if base in f.bases and f.cause != first.cause]
        if not seconds:
            raise _Redraw
        chosen = [first, rng.choice(seconds)]
    doc = _base(rng, base, index)
    _surroundings(rng, doc)
    for fault in chosen:
        fault.apply(rng, doc)
    pool = [c for f in chosen for c in f.complaints]
    doc["complaint"] = rng.choice(pool)
    doc["_faults"] = [f.cause for f in chosen]
    return doc


class _Redraw(Exception):
    pass


def _finish(doc: Doc, seed: int, index: int) -> Doc | None:
    """The scenario document with its id, description and oracle `expected`, or None when
    the oracle does not find exactly the faults put in (the draw is thrown away)."""
    intended = doc.pop("_faults")
    doc.pop("_main", None)
    if not doc["policies"]:
        doc.pop("policies")
    for policy in doc.get("policies", []):
        if policy["scope"] == "global" and len(policy) == 1:
            doc["policies"].remove(policy)
            break
    if doc.get("application") is None:
        doc.pop("application", None)
    slug = "-".join(c.replace("_", "-") for c in intended)
    doc["id"] = f"gen-{seed}-{index:04d}-{slug}"
    doc["description"] = (
        f"Generated world {index} of seed {seed}: {' and '.join(intended)}; "
        f"the caller reports {doc['complaint'].replace('_', ' ')}."
    )
    scenario = parse_scenario(doc, source=doc["id"])
    found = verdict(scenario)
    if sorted(found.root_causes) != sorted(intended):
        return None
    expected: Doc = {
        "root_cause": found.root_cause,
        "outcome": found.outcome,
        "root_causes": list(found.root_causes),
        "outcomes": sorted(found.outcomes),
        "own_method_fixable": found.own_method_fixable,
    }
    if found.sign_in is not None:
        expected["sign_in"] = {
            "factor": "auto",
            "result": found.sign_in[0],
            "reason": found.sign_in[1],
        }
    doc["expected"] = expected
    ordered = {k: doc[k] for k in ("id", "complaint", "description", "application") if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    return ordered


def generate_one(seed: int, index: int, faults: int = 1) -> Doc:
    """World `index` of `seed`: the same document every time."""
    if faults not in (1, 2):
        raise ValueError("faults must be 1 or 2")
    for attempt in range(200):
        rng = random.Random(f"{seed}:{index}:{faults}:{attempt}")  # noqa: S311 (not secrets)
        try:
            doc = _draw(rng, index, faults)
        except _Redraw:
            continue
        finished = _finish(doc, seed, index)
        if finished is not None:
            return finished
    raise RuntimeError(f"no coherent world for seed {seed}, index {index}")  # pragma: no cover


def generate(*, seed: int, count: int, faults: int = 1) -> list[Doc]:
    """`count` scenario documents for `seed` (module docstring)."""
    return [generate_one(seed, index, faults) for index in range(count)]
