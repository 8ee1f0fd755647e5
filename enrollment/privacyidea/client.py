"""A small HTTP client for privacyIDEA's REST API (3.14), speaking as the helpdesk's service
account.

Every request has a timeout; TLS certificates are verified unless the configuration says
otherwise. What can go wrong maps onto the port's errors, each naming the operation:

- no answer (connection refused, timeout, a 5xx, a body that is not privacyIDEA's JSON)
  -> ServiceUnavailable;
- privacyIDEA's own policy refusing the service account (HTTP 403, error 303) and other
  refusals of a well-formed request -> ServiceRefused;
- a user or token it does not know (errors 904 and 601) -> UnknownObject.

The JWT from `POST /auth` is kept per client and renewed once when privacyIDEA answers 401.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx

from enrollment.mfa import ServiceRefused, ServiceUnavailable, UnknownObject

# privacyIDEA error codes (privacyidea.lib.error.ERROR).
_ERR_POLICY = 303
_ERR_USER_UNKNOWN = 904
_ERR_TOKEN_UNKNOWN = 601


@dataclass(frozen=True)
class PrivacyIDEAConfig:
    url: str
    username: str
    password: str
    realms: tuple[str, ...]
    verify_tls: bool | str = True  # True, False or a CA bundle path
    timeout_seconds: float = 10.0
    # Where end users enrol themselves (privacyIDEA's own web UI), named in the notices.
    portal_url: str = ""

    @property
    def default_realm(self) -> str:
        return self.realms[0]


class PrivacyIDEAClient:
    """One service account on one privacyIDEA server. Thread-safe (the token under a lock)."""

    def __init__(self, config: PrivacyIDEAConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._http = httpx.Client(
            base_url=config.url.rstrip("/"),
            timeout=config.timeout_seconds,
            verify=config.verify_tls,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None
        self._lock = threading.Lock()

    # --- the service account's session -------------------------------------------------------

    def _authenticate(self, operation: str) -> str:
        response = self._send(
            operation,
            "POST",
            "/auth",
            data={"username": self.config.username, "password": self.config.password},
            authenticated=False,
        )
        token = (response.get("result", {}).get("value") or {}).get("token")
        if not token:
            raise ServiceRefused(
                f"{operation}: privacyIDEA did not accept the helpdesk's service account."
            )
        return token

    def _bearer(self, operation: str, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None:
                self._token = self._authenticate(operation)
            return self._token

    # --- requests ----------------------------------------------------------------------------

    def get(self, operation: str, path: str, **params: Any) -> Any:
        return self.request(operation, "GET", path, params=params)

    def post(self, operation: str, path: str, **data: Any) -> Any:
        return self.request(operation, "POST", path, data=data)

    def delete(self, operation: str, path: str) -> Any:
        return self.request(operation, "DELETE", path)

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        """The whole JSON answer (`value()` reads `result.value`; /validate/check callers read
        `result.authentication` and `detail`). Raises ServiceUnavailable, ServiceRefused,
        UnknownObject, each message starting with `operation`."""
        return self._send(operation, method, path, params=params, data=data)

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        authenticated: bool = True,
        retried: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": self._bearer(operation)} if authenticated else {}
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        clean_data = {k: v for k, v in (data or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, path, params=clean_params, data=clean_data or None, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(
                f"{operation}: privacyIDEA did not answer within "
                f"{self.config.timeout_seconds:g} seconds."
            ) from exc
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"{operation}: privacyIDEA could not be reached ({type(exc).__name__})."
            ) from exc
        if response.status_code == 401 and authenticated and not retried:
            self._bearer(operation, renew=True)
            return self._send(operation, method, path, params=params, data=data, retried=True)
        if response.status_code >= 500:
            raise ServiceUnavailable(
                f"{operation}: privacyIDEA failed (HTTP {response.status_code})."
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ServiceUnavailable(
                f"{operation}: privacyIDEA's answer was not understood "
                f"(HTTP {response.status_code})."
            ) from exc
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise ServiceUnavailable(f"{operation}: privacyIDEA's answer was not understood.")
        if not result.get("status", False) or response.status_code >= 400:
            error = result.get("error") or {}
            code = error.get("code")
            message = str(error.get("message") or f"HTTP {response.status_code}")
            if code in (_ERR_USER_UNKNOWN, _ERR_TOKEN_UNKNOWN):
                raise UnknownObject(f"{operation}: {message}")
            if code == _ERR_POLICY or response.status_code == 403:
                raise ServiceRefused(
                    f"{operation}: privacyIDEA's policy does not allow the helpdesk's service "
                    f"account to do this ({message})."
                )
            raise ServiceRefused(f"{operation}: privacyIDEA refused ({message}).")
        return body

    def close(self) -> None:
        self._http.close()


def value(body: dict[str, Any]) -> Any:
    """`result.value` of an answer."""
    return body.get("result", {}).get("value")
