"""The demo world: a few hundred end users across groups and applications, most of them
healthy and a realistic share of them broken in one of the ways design.md lists.

`seed_world(stdout=..., users=300, seed=7)` is deterministic for a given seed and safe to run
again (it replaces the users it creates). The lead's `seed_demo` command calls it.

Provider faults are shared by everyone, so the demo keeps the providers healthy; those root
causes come from scenario files (authsim/scenarios/) instead.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TextIO

from django.db import transaction

from authsim.models import Attempt
from authsim.scenarios import parse_scenario
from authsim.world import _policy, build_end_user, reset_shared_state
from enrollment import clock
from enrollment.models import Application, EndUser, Group, Policy

FIRST_NAMES = [
    "Aisha",
    "Ben",
    "Carla",
    "Deepak",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Mei",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rita",
    "Sven",
    "Tomas",
    "Uma",
    "Victor",
    "Wanda",
    "Xavier",
    "Yara",
    "Zane",
    "Amara",
    "Bruno",
    "Chen",
    "Dmitri",
    "Esme",
    "Felix",
    "Gita",
    "Hugo",
    "Isla",
    "Jamal",
    "Keiko",
    "Lars",
    "Maya",
    "Nico",
    "Olu",
    "Paula",
    "Rafael",
    "Saoirse",
    "Tariq",
    "Ulla",
    "Vera",
]
LAST_NAMES = [
    "Abbott",
    "Banerjee",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Almeida",
    "Brennan",
    "Costa",
    "Demir",
    "Ferreira",
    "Garcia",
    "Horvat",
    "Ito",
    "Kaur",
    "Larsen",
    "Mensah",
]

GROUPS: dict[str, str] = {
    "Sales": "Account executives and sales support",
    "Engineering": "Product engineering",
    "Finance": "Finance and payroll",
    "HR": "People team",
    "Operations": "Operations and logistics",
    "Marketing": "Marketing",
    "Field Service": "Technicians on the road",
    "Warehouse": "Warehouse and plant floor",
    "Contractors": "External contractors",
    "IT Admins": "Directory and infrastructure administrators",
    "Kiosk": "Shared kiosk accounts",
}
PRIVILEGED_GROUPS = {"IT Admins"}
APPLICATIONS = ("VPN", "Mail", "Payroll", "CRM", "Wiki", "Intranet")
# How often each group appears among demo users.
GROUP_WEIGHTS = {
    "Sales": 14,
    "Engineering": 14,
    "Finance": 7,
    "HR": 4,
    "Operations": 9,
    "Marketing": 6,
    "Field Service": 8,
    "Warehouse": 8,
    "Contractors": 6,
    "IT Admins": 2,
    "Kiosk": 1,
}

# The policies of the demo world (scenario syntax), applied once.
POLICIES: list[dict[str, Any]] = [
    {"scope": "global", "max_invalid_attempts": 5, "exempt_groups": ["Kiosk"]},
    {"scope": "application:Payroll", "permitted_groups": ["Finance", "HR", "IT Admins"]},
    {"scope": "application:Wiki", "mfa_enabled": False},
    {"scope": "application:VPN", "code_timeout_seconds": 120},
    {
        "scope": "group:Contractors",
        "allowed_methods": ["push", "totp", "sms"],
        "max_invalid_attempts": 3,
        "remembered_device_days": 0,
    },
    {
        "scope": "group:Field Service",
        "enforcement": "new_devices_only",
        "remembered_device_days": 30,
    },
    {"scope": "group:IT Admins", "allowed_methods": ["push", "webauthn", "hotp_token"]},
]

Spec = dict[str, Any]
Fault = Callable[[Spec, random.Random], None]


def _phone(spec: Spec) -> Spec:
    return spec["devices"][0]


def _pending(spec: Spec, stage: str, **enrollment: Any) -> None:
    spec["user"]["status"] = "pending_enrollment"
    spec["authenticators"][0]["status"] = "pending_activation"
    spec["enrollment"] = {"stage": stage, **enrollment}


def _unenrolled(spec: Spec, **enrollment: Any) -> None:
    spec["user"]["status"] = "pending_enrollment"
    spec["authenticators"] = []
    spec["enrollment"] = {"stage": "invited", **enrollment}


FAULTS: dict[str, tuple[int, Fault]] = {
    # root cause: (weight, how it shows on the user)
    "push_notifications_disabled": (10, lambda s, r: _phone(s).update(notifications_enabled=False)),
    "device_offline": (6, lambda s, r: _phone(s).update(online=False, network="none")),
    "push_token_stale": (5, lambda s, r: _phone(s).update(push_token_valid=False)),
    "app_outdated": (7, lambda s, r: _phone(s).update(app_version=r.choice(["3.4", "3.8", "3.9"]))),
    "clock_skew": (
        5,
        lambda s, r: (
            _phone(s).update(automatic_time=False, clock_offset_seconds=r.choice([-300, 180, 240])),
            s["authenticators"][0].update(method="totp"),
        ),
    ),
    "enrollment_incomplete": (6, lambda s, r: _pending(s, "app_installed")),
    "qr_scan_blocked": (
        3,
        lambda s, r: (_pending(s, "app_installed"), _phone(s).update(camera_permission=False)),
    ),
    "network_unreachable": (
        2,
        lambda s, r: (_pending(s, "app_installed"), _phone(s).update(online=False, network="none")),
    ),
    "activation_link_expired": (
        3,
        lambda s, r: _pending(
            s, "app_installed", error="activation_expired", activation_expires_in_hours=-30
        ),
    ),
    "enrollment_link_expired": (
        4,
        lambda s, r: _unenrolled(
            s, error="link_expired", link_expires_in_hours=-r.randint(24, 400)
        ),
    ),
    "no_authenticator": (4, lambda s, r: _unenrolled(s)),
    "device_incompatible": (
        2,
        lambda s, r: (
            _phone(s).update(platform="android", os_version=r.choice(["9", "10", "11"])),
            _pending(s, "app_installed", error="device_incompatible"),
        ),
    ),
    "phone_number_invalid": (
        3,
        lambda s, r: (
            s["user"].update(mobile=r.choice(["555-0134", "0415 555 013", "+1415555"])),
            s["authenticators"].append({"method": "sms", "name": "Mobile"}),
        ),
    ),
    "user_locked_out": (
        4,
        lambda s, r: (
            s["user"].update(status="locked_out"),
            s["authenticators"][0].update(failure_count=5),
        ),
    ),
    "user_disabled": (2, lambda s, r: s["user"].update(status="disabled")),
    "fraud_reported": (1, lambda s, r: s["user"].update(fraud_reported=True)),
    "lost_device": (3, lambda s, r: _phone(s).update(lost=True)),
    "session_still_valid": (3, lambda s, r: s["user"].update(session_valid=True)),
    "authenticator_disabled": (2, lambda s, r: s["authenticators"][0].update(status="disabled")),
}
HEALTHY_WEIGHT = 200


def _healthy_spec(n: int, rng: random.Random, username: str, full_name: str) -> Spec:
    group = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))[0]
    groups = [group]
    if rng.random() < 0.15:
        groups.append(rng.choice([g for g in GROUP_WEIGHTS if g not in (group, "Kiosk")]))
    platform = rng.choice(["ios", "ios", "android"])
    os_version = (
        rng.choice(["17.4", "17.5", "18.1", "16.6"])
        if platform == "ios"
        else (rng.choice(["13", "14", "15", "12"]))
    )
    first = full_name.split()[0]
    spec: Spec = {
        "id": f"demo-user-{n}",
        "complaint": "missing_prompt",
        "user": {
            "username": username,
            "full_name": full_name,
            "email": f"{username}@example.com",
            "mobile": f"+1415555{n:04d}",
            "phone": f"+1650555{n:04d}" if rng.random() < 0.4 else None,
            "groups": groups,
            "privileged": rng.random() < 0.02,
        },
        "devices": [
            {
                "key": "phone",
                "platform": platform,
                "os_version": os_version,
                "app_version": rng.choice(["4.80", "4.85", "4.92"]),
                "network": rng.choice(["wifi", "cellular"]),
            }
        ],
        "authenticators": [
            {
                "method": "push",
                "device": "phone",
                "name": f"{first}'s {'iPhone' if platform == 'ios' else 'Android'}",
            }
        ],
    }
    if rng.random() < 0.25:
        spec["authenticators"].append({"method": "sms", "name": "Mobile"})
    if "IT Admins" in groups and rng.random() < 0.6:
        serial = f"HT-{300000 + n}"
        spec["devices"].append(
            {"key": "token", "platform": "hardware_token", "os_version": "", "app_installed": False}
        )
        spec["authenticators"].append(
            {"method": "hotp_token", "device": "token", "name": "Token", "serial": serial}
        )
    if "Field Service" in groups and rng.random() < 0.5:
        spec["devices"][0]["remembered"] = True
    return spec


def build_demo_caller(
    *, n: int, username: str, full_name: str, group: str, fault: str | None
) -> EndUser:
    """One end user of the demo world's kind, in `group`, broken by `fault` (a root cause
    of FAULTS, or None for a healthy one), under the policies seed_world applied. The
    demo's worked cases call their callers this way, so their guided sessions run against
    a real broken world. Deterministic for given arguments."""
    rng = random.Random(f"{username}:{fault}")  # noqa: S311 - reproducible demo data
    spec = _healthy_spec(n, rng, username, full_name)
    spec["user"]["groups"] = [group]
    spec["user"]["privileged"] = False
    spec["id"] = f"demo-caller-{n}"
    if fault is not None:
        FAULTS[fault][1](spec, rng)
    return build_end_user(parse_scenario(spec, source=f"authsim.demo caller {n}"))


def _names(users: int, rng: random.Random) -> list[tuple[str, str]]:
    seen: set[str] = set()
    names = []
    while len(names) < users:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower()
        username, k = base, 2
        while username in seen:
            username, k = f"{base}{k}", k + 1
        seen.add(username)
        names.append((username, f"{first} {last}"))
    return names


def _history(user: EndUser, fault: str | None, rng: random.Random) -> list[Attempt]:
    """A few past sign-ins in the auth log, consistent with what is wrong."""
    now = clock.now()
    outcome = {
        None: ("success", "user_approved"),
        "push_notifications_disabled": ("denied", "no_response"),
        "device_offline": ("denied", "no_response"),
        "push_token_stale": ("denied", "no_response"),
        "lost_device": ("denied", "no_response"),
        "app_outdated": ("denied", "out_of_date"),
        "clock_skew": ("denied", "invalid_passcode"),
        "user_locked_out": ("denied", "locked_out"),
        "user_disabled": ("denied", "user_disabled"),
        "fraud_reported": ("fraud", "user_marked_fraud"),
        "enrollment_incomplete": ("denied", "no_activated_app"),
        "qr_scan_blocked": ("denied", "no_activated_app"),
        "network_unreachable": ("denied", "no_activated_app"),
        "activation_link_expired": ("denied", "no_activated_app"),
        "authenticator_disabled": ("denied", "no_activated_app"),
        "device_incompatible": ("denied", "platform_restricted"),
        "enrollment_link_expired": ("denied", "deny_unenrolled_user"),
        "no_authenticator": ("denied", "deny_unenrolled_user"),
        "session_still_valid": ("success", "valid_session"),
        "phone_number_invalid": ("error", "delivery_failed"),
    }[fault]
    factor = {"clock_skew": "totp", "phone_number_invalid": "sms"}.get(fault, "push")
    device = user.devices.first()
    rows = []
    for k in range(rng.randint(1, 4)):
        # Older entries were fine; the last ones show the fault.
        result, reason = outcome if k < 2 else ("success", "user_approved")
        rows.append(
            Attempt(
                end_user=user,
                application=rng.choice(APPLICATIONS[:4]),
                factor=factor if k < 2 else "push",
                device=device,
                status="final",
                result=result,
                reason=reason,
                created_at=now - timedelta(hours=k * 20 + rng.randint(1, 10)),
                resolved_at=now - timedelta(hours=k * 20),
            )
        )
    return rows


@transaction.atomic
def seed_world(*, stdout: TextIO, users: int = 300, seed: int = 7) -> list[EndUser]:
    """Builds the demo world and returns its end users.

    Side effects: resets the simulator's shared state (providers, global policy, clock);
    creates the groups, applications and policies above; replaces `users` end users with
    devices, authenticators, enrollments, simulated device state and a short auth log each.
    Deterministic for a given `seed`."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    reset_shared_state()
    for name, description in GROUPS.items():
        Group.objects.update_or_create(
            name=name,
            defaults={"description": description, "privileged": name in PRIVILEGED_GROUPS},
        )
    for name in APPLICATIONS:
        Application.objects.get_or_create(name=name)
    Policy.objects.filter(scope__in=["application", "group"]).filter(
        application__name__in=APPLICATIONS
    ).delete()
    Policy.objects.filter(group__name__in=list(GROUPS)).delete()
    for data in POLICIES:
        scenario = parse_scenario(
            {
                "id": "demo-policies",
                "complaint": "missing_prompt",
                "user": {"username": "x"},
                "policies": [data],
            },
            source="authsim.demo.POLICIES",
        )
        _policy(scenario.policies[0])

    fault_names = list(FAULTS)
    weights = [HEALTHY_WEIGHT] + [FAULTS[name][0] for name in fault_names]
    tally: Counter[str] = Counter()
    created: list[EndUser] = []
    history: list[Attempt] = []
    names = _names(users, rng)
    # One bulk delete instead of one cascade per user when the world is seeded again.
    EndUser.objects.filter(username__in=[username for username, _ in names]).delete()
    for n, (username, full_name) in enumerate(names, start=1):
        spec = _healthy_spec(n, rng, username, full_name)
        fault = rng.choices([None, *fault_names], weights=weights)[0]
        if fault is not None:
            FAULTS[fault][1](spec, rng)
        user = build_end_user(parse_scenario(spec, source=f"authsim.demo user {n}"))
        created.append(user)
        history.extend(_history(user, fault, rng))
        tally[fault or "healthy"] += 1
    Attempt.objects.bulk_create(history)

    stdout.write(
        f"Demo world: {len(created)} end users in {len(GROUPS)} groups, "
        f"{len(APPLICATIONS)} applications, {len(POLICIES)} policies.\n"
    )
    for name, count in sorted(tally.items(), key=lambda item: (-item[1], item[0])):
        stdout.write(f"  {name}: {count}\n")
    return created
