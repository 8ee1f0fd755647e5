"""A few broken end users in a local privacyIDEA, so a person can work real cases in the
browser (manage.py seed_privacyidea, and seed_demo --mfa-service privacyidea).

It speaks to privacyIDEA as a setup admin (not the helpdesk's service account, which may not
enrol app tokens): it creates a passwdresolver over a file the server can read, a realm, the
helpdesk's policies (docs/privacyidea/helpdesk-policies.json, with the realm and account
named), and then one user per case. The person trying it plays the end users: their
authenticator seeds are written to a file of their own (never to the helpdesk's database),
and `manage.py privacyidea_phone USER` shows the code each one's phone shows.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp

POLICY_FILE = (
    Path(__file__).resolve().parents[2] / "docs" / "privacyidea" / "helpdesk-policies.json"
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    case: str  # what is broken, in plain words
    clock_late_steps: int = 0


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("pi.locked", "Lena Locked", "locked out after three wrong codes"),
    DemoUser("pi.drift", "Dario Drift", "the phone's clock runs five minutes late", 10),
    DemoUser("pi.disabled", "Dina Disabled", "the authenticator was disabled"),
    DemoUser("pi.lost", "Luis Lost", "lost the work phone"),
    DemoUser("pi.new", "Nora New", "never enrolled"),
)


class DemoError(Exception):
    pass


class SetupAdmin:
    def __init__(self, url: str, username: str, password: str, *, verify: bool | str = True):
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=30, verify=verify)
        answer = self.http.post("/auth", data={"username": username, "password": password})
        body = answer.json()
        if not body.get("result", {}).get("status"):
            raise DemoError(f"privacyIDEA refused the setup admin: {body['result'].get('error')}")
        self.http.headers["Authorization"] = body["result"]["value"]["token"]

    def call(self, method: str, path: str, **data) -> dict:
        kwargs = {"params": data} if method == "GET" else {"data": data}
        body = self.http.request(method, path, **kwargs).json()
        if not body["result"]["status"]:
            raise DemoError(f"{method} {path}: {body['result'].get('error')}")
        return body


def passwd_lines(realm: str) -> str:
    lines = []
    for n, user in enumerate(DEMO_USERS, start=1):
        # GECOS as privacyIDEA's passwdresolver reads it: name, room, mobile, phone, email.
        gecos = f"{user.full_name},,+4915550199{n:03d},,{user.username}@example.com"
        lines.append(
            f"{user.username}:x:{3000 + n}:{3000 + n}:{gecos}:/home/{user.username}:/bin/sh"
        )
    return "\n".join(lines) + "\n"


def seed(
    *,
    admin: SetupAdmin,
    realm: str,
    service_account: str,
    users_file: Path,
    server_users_file: str,
    seeds_file: Path,
) -> list[str]:
    """Creates the realm, the policies and the broken users. Returns one line per user.
    Safe to run again: existing tokens of the demo users are replaced."""
    users_file.write_text(passwd_lines(realm))
    admin.call("POST", "/resolver/helpdesk-demo", type="passwdresolver", fileName=server_users_file)
    admin.call("POST", f"/realm/{realm}", resolvers="helpdesk-demo")
    for policy in json.loads(POLICY_FILE.read_text())["policy"]:
        actions = ", ".join(
            name if value is True else f"{name}={value}" for name, value in policy["action"].items()
        )
        fields = {"scope": policy["scope"], "action": actions, "realm": realm, "active": "true"}
        if policy["scope"] == "admin":
            fields["adminuser"] = service_account
        # Named per realm, so seeding a second realm leaves the first one's policies alone.
        admin.call("POST", f"/policy/{policy['name']}-{realm}", **fields)
    seeds: dict[str, dict] = {}
    report = []
    for user in DEMO_USERS:
        existing = admin.call("GET", "/token/", user=user.username, realm=realm)
        for token in existing["result"]["value"]["tokens"]:
            admin.call("DELETE", f"/token/{token['serial']}")
        if user.username == "pi.new":
            report.append(f"{user.username}: {user.case}")
            continue
        body = admin.call(
            "POST",
            "/token/init",
            type="totp",
            genkey="1",
            user=user.username,
            realm=realm,
            description="Work phone",
        )
        serial = body["detail"]["serial"]
        uri = body["detail"]["googleurl"]["value"]
        secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        seeds[user.username] = {"secret": secret, "clock_late_steps": user.clock_late_steps}
        if user.username == "pi.locked":
            admin.call("POST", "/token/set", serial=serial, max_failcount="3")
            for _ in range(3):
                admin.http.post(
                    "/validate/check",
                    data={"user": user.username, "realm": realm, "pass": "000000"},
                )
        elif user.username == "pi.disabled":
            admin.call("POST", f"/token/disable/{serial}")
        report.append(f"{user.username}: {user.case}")
    seeds_file.write_text(json.dumps(seeds, indent=2) + "\n")
    seeds_file.chmod(0o600)
    return report


def phone_code(seeds_file: Path, username: str) -> tuple[str, int]:
    """The code `username`'s phone shows now (by its own, possibly late, clock), and the
    seconds until it changes."""
    seeds = json.loads(seeds_file.read_text())
    if username not in seeds:
        raise DemoError(f"{username} has no authenticator in {seeds_file}.")
    entry = seeds[username]
    phone_time = time.time() - 30 * int(entry.get("clock_late_steps", 0))
    return pyotp.TOTP(entry["secret"]).at(phone_time), 30 - int(phone_time) % 30
