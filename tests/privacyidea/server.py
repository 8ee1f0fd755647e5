"""A real privacyIDEA server for tests: started from its own virtualenv on a free loopback
port with a temporary config and SQLite database, set up with a passwdresolver realm, the
helpdesk's least-privilege service account and a pool of end users.

The virtualenv is PRIVACYIDEA_VENV, or `.venv-privacyidea/` in the repository (`.ci/run`
creates it: `pip install privacyIDEA==3.14`), or /opt/privacyidea-venv.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp

REPO = Path(__file__).resolve().parents[2]
REALM = "corp"
SETUP_ADMIN = "pi-setup"
SETUP_PASSWORD = "setup-only-password"  # a throwaway test server
SERVICE_ACCOUNT = "helpdesk-svc"
SERVICE_PASSWORD = "helpdesk-svc-password"  # a throwaway test server
POOL_SIZE = 60

# The policies the README tells administrators to import: the service account's least
# privilege and ten-digit temporary codes. The tests run under exactly these.
POLICY_FILE = REPO / "docs" / "privacyidea" / "helpdesk-policies.json"
HELPDESK_POLICY = "helpdesk-service-account"
# The test-only setup account (creating realms, enrolling tokens as the end user would).
SETUP_ADMIN_ACTIONS = (
    "tokenlist, userlist, auditlog, reset, resync, enable, disable, delete, set, "
    "settokeninfo, enrollTOTP, enrollHOTP, enrollREGISTRATION, revoke, unassign, assign, "
    "policywrite, policyread, resolverwrite, configwrite"
)


# Where privacyIDEA's own virtualenv is looked for: PRIVACYIDEA_VENV, the repository's
# .venv-privacyidea/ (what .ci/run creates), then a machine-wide one.
VENV_CANDIDATES = (REPO / ".venv-privacyidea", Path("/opt/privacyidea-venv"))


def venv_bin() -> Path:
    if os.environ.get("PRIVACYIDEA_VENV"):
        return Path(os.environ["PRIVACYIDEA_VENV"]) / "bin"
    for candidate in VENV_CANDIDATES:
        if (candidate / "bin" / "pi-manage").exists():
            return candidate / "bin"
    return VENV_CANDIDATES[0] / "bin"


def installed() -> bool:
    return (venv_bin() / "pi-manage").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivacyIDEAServer:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None
    users: list[str] = field(default_factory=list)
    _next_user: int = 0
    _admin: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.directory / "pi.cfg"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(self.config_file)}

    def _manage(self, *commands: tuple[str, ...]) -> None:
        """Runs pi-manage commands in one process of privacyIDEA's virtualenv (each
        pi-manage start loads the whole application, so they share one)."""
        script = (
            "import sys\n"
            "from privacyidea.cli.pimanage import cli\n"
            f"for args in {[list(c) for c in commands]!r}:\n"
            "    try:\n"
            "        cli.main(args, prog_name='pi-manage', standalone_mode=False)\n"
            "    except SystemExit as exit:\n"
            "        if exit.code:\n"
            "            sys.exit(f'pi-manage {args}: exit {exit.code}')\n"
        )
        done = subprocess.run(  # noqa: S603 -- fixed arguments, our own test server
            [str(venv_bin() / "python"), "-c", script],
            env=self._env(),
            capture_output=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"pi-manage failed: {done.stdout.decode()[-800:]}{done.stderr.decode()[-800:]}"
            )

    def install(self) -> None:
        d = self.directory
        self.config_file.write_text(
            f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{d}/pi.sqlite'\n"
            f"SECRET_KEY = 'tests-only-{os.urandom(16).hex()}'\n"
            f"PI_PEPPER = 'tests-only-{os.urandom(8).hex()}'\n"
            f"PI_ENCFILE = '{d}/enckey'\n"
            f"PI_AUDIT_KEY_PRIVATE = '{d}/private.pem'\n"
            f"PI_AUDIT_KEY_PUBLIC = '{d}/public.pem'\n"
            f"PI_LOGFILE = '{d}/privacyidea.log'\n"
            "PI_LOGLEVEL = 30\n"
        )
        self.users = [f"user{n:02d}" for n in range(1, POOL_SIZE + 1)]
        lines = [
            # GECOS as privacyIDEA's passwdresolver reads it: name, room, mobile, phone, email.
            f"{name}:x:{2000 + n}:{2000 + n}:User {n:02d},,+4915550100{n:03d},,"
            f"{name}@example.com:/home/{name}:/bin/sh"
            for n, name in enumerate(self.users, start=1)
        ]
        (d / "users.passwd").write_text("\n".join(lines) + "\n")
        self._manage(
            ("setup", "create_enckey"),
            ("setup", "create_audit_keys"),
            ("setup", "create_tables"),
            ("admin", "add", SETUP_ADMIN, "-p", SETUP_PASSWORD),
            ("admin", "add", SERVICE_ACCOUNT, "-p", SERVICE_PASSWORD),
        )

    def start(self) -> None:
        self.port = _free_port()
        with (self.directory / "server.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 -- fixed arguments
                [str(venv_bin() / "pi-manage"), "run", "-h", "127.0.0.1", "-p", str(self.port)],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"privacyIDEA exited; see {self.directory}/server.log")
            try:
                httpx.get(f"{self.url}/healthz/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("privacyIDEA did not start within 60 seconds")
        self._admin = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- the setup admin's API -------------------------------------------------------------

    def admin(self) -> httpx.Client:
        if self._admin is None:
            client = httpx.Client(base_url=self.url, timeout=30)
            answer = client.post(
                "/auth", data={"username": SETUP_ADMIN, "password": SETUP_PASSWORD}
            ).json()
            client.headers["Authorization"] = answer["result"]["value"]["token"]
            self._admin = client
        return self._admin

    def call(self, method: str, path: str, **data) -> dict:
        kwargs = {"params": data} if method == "GET" else {"data": data}
        body = self.admin().request(method, path, **kwargs).json()
        if not body["result"]["status"]:
            raise RuntimeError(f"{method} {path}: {body['result'].get('error')}")
        return body

    def configure(self) -> None:
        self.call(
            "POST",
            "/resolver/helpdesk-users",
            type="passwdresolver",
            fileName=str(self.directory / "users.passwd"),
        )
        self.call("POST", f"/realm/{REALM}", resolvers="helpdesk-users")
        # The policies name the realm, so they come once it exists.
        # The first admin policy restricts every admin, this setup account included.
        setup = {
            "policy": [
                {
                    **json.loads(POLICY_FILE.read_text())["policy"][0],
                    "name": "test-setup-admin",
                    "realm": [],
                    "adminuser": [SETUP_ADMIN],
                    "description": "Tests only: sets up the realm and enrols tokens.",
                    "action": {a.strip(): True for a in SETUP_ADMIN_ACTIONS.split(",")},
                }
            ]
        }
        (self.directory / "setup-policy.json").write_text(json.dumps(setup))
        setup_file = self.directory / "setup-policy.json"
        self._manage(
            ("config", "import", "-i", str(setup_file), "-t", "policy"),
            ("config", "import", "-i", str(POLICY_FILE), "-t", "policy"),
        )

    def helpdesk_policy(self, actions: str) -> None:
        """Replaces the service account's admin policy's actions (a test narrowing it)."""
        self.call(
            "POST",
            f"/policy/{HELPDESK_POLICY}",
            scope="admin",
            action=actions,
            adminuser=SERVICE_ACCOUNT,
            realm=REALM,
            active="true",
        )

    def helpdesk_policy_restore(self) -> None:
        documented = next(
            p for p in json.loads(POLICY_FILE.read_text())["policy"] if p["name"] == HELPDESK_POLICY
        )
        self.helpdesk_policy(", ".join(documented["action"]))

    # --- what tests do ---------------------------------------------------------------------

    def take_user(self) -> str:
        """A user of the realm that no other test has used."""
        if self._next_user >= len(self.users):
            raise RuntimeError("the privacyIDEA user pool is used up; raise POOL_SIZE")
        name = self.users[self._next_user]
        self._next_user += 1
        return name

    def enrol_totp(
        self, username: str, *, serial: str | None = None, **extra
    ) -> tuple[str, pyotp.TOTP]:
        """Enrols a TOTP token for `username` as the end user would in privacyIDEA's portal;
        returns its serial and the authenticator app the test holds (the seed never reaches
        the helpdesk)."""
        body = self.call(
            "POST",
            "/token/init",
            type="totp",
            genkey="1",
            user=username,
            realm=REALM,
            serial=serial or f"TOTP-{username}",
            **extra,
        )
        uri = body["detail"]["googleurl"]["value"]
        secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        return body["detail"]["serial"], pyotp.TOTP(secret)

    def token(self, serial: str) -> dict:
        tokens = self.call("GET", "/token/", serial=serial)["result"]["value"]["tokens"]
        return tokens[0] if tokens else {}

    def check(self, username: str, passcode: str) -> dict:
        return httpx.post(
            f"{self.url}/validate/check",
            data={"user": username, "realm": REALM, "pass": passcode},
            timeout=30,
        ).json()


def start_server() -> PrivacyIDEAServer:
    server = PrivacyIDEAServer(Path(tempfile.mkdtemp(prefix="privacyidea-tests-")))
    server.install()
    server.start()
    try:
        server.configure()
    except BaseException:
        server.stop()
        raise
    return server
