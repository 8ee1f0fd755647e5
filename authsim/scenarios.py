"""The scenario file format of scenarios.md, as pydantic models, and its safe loader.

The format is a public contract: files written by others must load unchanged, so every key
of scenarios.md is accepted with exactly its documented meaning, and anything else (an
unknown key, a value of the wrong type or outside its vocabulary) is rejected with a
`ScenarioError` whose message names the file, the key path and what was expected.

Optional keys this implementation adds (absent = the documented behaviour):
- `user.response_delay_seconds`: how long the simulated end user takes to answer a push or
  type a code (default 0) — produces `code_expired`.
- `user.own_mobile`: the mobile number the end user actually carries, which they can tell
  the helpdesk (default: `user.mobile`) — a directory record missing the number.
- `devices[].serial`: the serial printed on a hardware token (default: the authenticator's
  `serial`), so a mistyped serial can be told apart from the real one.
- `policies[].priority`: ranks the group policies of a user in several groups, lower wins
  (default 100), ties broken by group name (A before Z); on other scopes it changes nothing.
- `expected.sign_in`: `{factor, result, reason}` — what the first sign-in through the MFA
  service reports for this scenario; read by tests only, like the rest of `expected`.
- `expected.root_causes`, `expected.outcomes`, `expected.own_method_fixable`: every root
  cause present, every outcome that is right, and whether the user's own method can be
  fixed in the session (so a bypass code is wrong) — what the generator writes from the
  oracle (authsim.oracle); `root_cause` and `outcome` stay the primary ones.

Building the world from a parsed scenario lives in `authsim.world`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from authsim.vocab import (
    APP_PLATFORMS,
    AuthenticatorStatus,
    Complaint,
    Enforcement,
    EnrollmentError,
    Method,
    Network,
    Outcome,
    Platform,
    Result,
    RootCause,
    SignInFactor,
    Stage,
    UserStatus,
)
from helpdesk.yaml_files import SCENARIO_MAX_BYTES, YamlFileError, read_yaml_file

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SCOPE = re.compile(r"^(global|application:.+|group:.+)$")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and what was expected."""


def _version(value: Any) -> Any:
    # YAML reads `12` as an int; a whole number is unambiguous, so accept it as "12". A float
    # is not (17.10 would arrive as 17.1), so it is left to fail as "a quoted string".
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Version = Annotated[str, BeforeValidator(_version)]


class _Strict(BaseModel):
    # strict: YAML already gives real booleans and numbers, so "yes" for a bool or "5" for a
    # number is a mistake in the file, not something to guess at.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserSpec(_Strict):
    username: str = Field(min_length=1, max_length=150)
    full_name: str = ""
    email: str | None = None
    mobile: str | None = None
    phone: str | None = None
    status: UserStatus = "active"
    groups: list[str] = Field(default_factory=list)
    privileged: bool = False
    fraud_reported: bool = False
    session_valid: bool = False
    response_delay_seconds: int = Field(default=0, ge=0)
    own_mobile: str | None = None


class DeviceSpec(_Strict):
    key: str = Field(min_length=1)
    platform: Platform = "ios"
    os_version: Version = "17.4"
    app_installed: bool = True
    app_version: Version | None = "4.80"
    online: bool = True
    network: Network = "wifi"
    notifications_enabled: bool = True
    camera_permission: bool = True
    clock_offset_seconds: int = 0
    automatic_time: bool = True
    push_token_valid: bool = True
    remembered: bool = False
    lost: bool = False
    serial: str | None = None


class AuthenticatorSpec(_Strict):
    method: Method = "push"
    device: str | None = None
    status: AuthenticatorStatus = "active"
    name: str = ""
    serial: str | None = None
    failure_count: int = Field(default=0, ge=0)
    remaining_codes: int | None = Field(default=None, ge=0)


class EnrollmentSpec(_Strict):
    stage: Stage = "verified"
    error: EnrollmentError | None = None
    link_expires_in_hours: float = 720
    activation_expires_in_hours: float = 24


class PolicySpec(_Strict):
    """One policy; a setting left out inherits from the less specific scope.

    `max_invalid_attempts: null` means "no limit", which is not the same as leaving the key
    out: use `fields_set` to tell them apart.
    """

    scope: str
    # Ranks group policies for a user in several groups: lower wins, ties by group name.
    # Other scopes have one policy each, so there it changes nothing.
    priority: int = Field(default=100, ge=0, le=10_000)
    mfa_enabled: bool | None = None
    enforcement: Enforcement | None = None
    allowed_methods: list[Method] | None = None
    default_method: Method | None = None
    allow_fallback: bool | None = None
    enrollment_required: bool | None = None
    max_invalid_attempts: int | None = Field(default=None, ge=1)
    code_timeout_seconds: int | None = Field(default=None, ge=1)
    resend_limit: int | None = Field(default=None, ge=0)
    remembered_device_days: int | None = Field(default=None, ge=0)
    min_os_versions: dict[Platform, Version] | None = None
    min_app_version: Version | None = None
    exempt_groups: list[str] | None = None
    permitted_groups: list[str] | None = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not SCOPE.match(value):
            raise ValueError("global, application:<name> or group:<name>")
        return value

    @property
    def kind(self) -> str:
        return self.scope.split(":", 1)[0]

    @property
    def target(self) -> str | None:
        return self.scope.split(":", 1)[1] if ":" in self.scope else None

    def settings(self) -> dict[str, Any]:
        """The settings this policy sets explicitly (absent keys inherit)."""
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name not in ("scope", "priority")
        }


class SmsProviderSpec(_Strict):
    configured: bool = True
    healthy: bool = True
    rate_limited: bool = False
    carrier_delay_seconds: int = Field(default=0, ge=0)


class EmailProviderSpec(_Strict):
    healthy: bool = True
    sender_filtered: bool = False


class VoiceProviderSpec(_Strict):
    healthy: bool = True


class ProvidersSpec(_Strict):
    sms: SmsProviderSpec = SmsProviderSpec()
    email: EmailProviderSpec = EmailProviderSpec()
    voice: VoiceProviderSpec = VoiceProviderSpec()


class ExpectedSignIn(_Strict):
    factor: SignInFactor = "auto"
    result: Result
    reason: str


class ExpectedSpec(_Strict):
    root_cause: RootCause | None = None
    outcome: Outcome | None = None
    sign_in: ExpectedSignIn | None = None
    # Written by the generator from the oracle (authsim.oracle); optional for everyone else.
    root_causes: list[RootCause] | None = None
    outcomes: list[Outcome] | None = None
    own_method_fixable: bool | None = None


def _default_devices() -> list[DeviceSpec]:
    return [DeviceSpec(key="phone")]


class Scenario(_Strict):
    id: str
    complaint: Complaint
    description: str = ""
    application: str | None = None
    user: UserSpec
    devices: list[DeviceSpec] = Field(default_factory=_default_devices)
    # None = the default: a push authenticator on the first phone (see `resolved_authenticators`).
    authenticators: list[AuthenticatorSpec] | None = None
    enrollment: EnrollmentSpec = EnrollmentSpec()
    policies: list[PolicySpec] = Field(default_factory=list)
    providers: ProvidersSpec = ProvidersSpec()
    expected: ExpectedSpec = ExpectedSpec()

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not KEBAB.match(value):
            raise ValueError("a kebab-case id like ios-notifications-off")
        return value

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        keys = [device.key for device in self.devices]
        seen: set[str] = set()
        for index, key in enumerate(keys):
            if key in seen:
                raise _KeyError(("devices", index, "key"), f"a unique device key ({key!r} repeats)")
            seen.add(key)
        for index, auth in enumerate(self.authenticators or []):
            if auth.device is not None and auth.device not in seen:
                raise _KeyError(
                    ("authenticators", index, "device"),
                    f"the key of a device listed under devices ({', '.join(keys) or 'none'})",
                )
        scopes: set[str] = set()
        for index, policy in enumerate(self.policies):
            if policy.scope in scopes:
                raise _KeyError(("policies", index, "scope"), "each scope at most once")
            scopes.add(policy.scope)
        return self

    def resolved_authenticators(self) -> list[AuthenticatorSpec]:
        """The authenticators to create: the file's, or by default one active push
        authenticator on the first phone."""
        if self.authenticators is not None:
            return list(self.authenticators)
        phone = next((d for d in self.devices if d.platform in APP_PLATFORMS), None)
        if phone is None:
            return []
        return [AuthenticatorSpec(method="push", device=phone.key)]


class _KeyError(ValueError):
    """Raised inside validators to report a precise key path."""

    def __init__(self, loc: tuple, expected: str):
        super().__init__(expected)
        self.loc = loc
        self.expected = expected


def _keys_at(loc: tuple) -> list[str]:
    """The keys the section at `loc` accepts, for the message about an unknown key."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if isinstance(model, type) else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            text += " (the key)"
        elif isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _expected(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _keys_at(tuple(error["loc"])[:-1])
        return f"no such key; expected one of {', '.join(allowed)}" if allowed else "no such key"
    if kind == "missing":
        return "missing; expected this required key"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind in {"string_type", "str_type"}:
        return "a string (quote it)"
    if kind == "bool_type":
        return "true or false"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "a whole number"
    if kind in {"float_type", "float_parsing"}:
        return "a number"
    if kind == "list_type":
        return "a list"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return "a mapping of keys to values"
    if kind == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if kind == "string_too_short":
        return "a non-empty string"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "value_error":
        inner = ctx.get("error")
        if isinstance(inner, _KeyError):
            return inner.expected
        return str(inner) if inner is not None else error["msg"]
    return error["msg"]


def format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, _KeyError):
            loc = loc + inner.loc
        # A literal inside a list or dict reports the container's item path; keep it.
        message = _expected(error)
        if not message.startswith(("no such key", "missing;")):
            message = f"expected {message}"
        lines.append(f"{source}: {_path(loc)}: {message}")
    return "\n".join(lines)


def parse_scenario(data: Any, *, source: str) -> Scenario:
    """Validate already-loaded YAML data. Raises ScenarioError naming `source`."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: (top level): expected a mapping of keys to values")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_errors(source, exc)) from None


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file (YAML loaded safely).

    Raises ScenarioError for a missing or unreadable file, a YAML syntax error, an unknown
    key or a bad value; the message names the file, the key path and what was expected.
    """
    path = Path(path)
    try:
        data = read_yaml_file(path, max_bytes=SCENARIO_MAX_BYTES)
    except YamlFileError as exc:
        raise ScenarioError(str(exc)) from None
    return parse_scenario(data, source=str(path))


SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def bundled_scenarios() -> list[Path]:
    """The scenario files shipped with the simulator, one or more per root cause."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))
