"""PrivacyIDEAService: the port (enrollment.mfa) over a real privacyIDEA 3.14 server.

How the port maps onto privacyIDEA's API:

- end users are privacyIDEA users of the configured realms: the directory's
  `EndUser.service_id` is "username@realm" (the sync, enrollment.services.directory_sync,
  sets it; an end user without one is looked up by username in the first realm);
  authenticators are tokens, keyed by `Authenticator.serial`;
- sign-in attempts and passcode checks: `POST /validate/check` (user, realm, pass), answered
  at once, so every attempt is final; privacyIDEA's message maps onto our reason vocabulary
  (REASONS) and is kept verbatim in `detail` (an unmapped message becomes the reason itself);
- the auth log: privacyIDEA's audit rows for /validate/check of the user, newest first;
- unlock: `POST /token/reset` (the fail counter of each of the user's tokens);
- resync: `POST /token/resync` (otp1, otp2);
- reset: the token is deleted (its seed is forgotten; the end user enrols again through
  privacyIDEA's own portal); disable / enable: `POST /token/disable|enable`;
- a lost device: its tokens disabled;
- bypass codes: a registration token (single use: privacyIDEA deletes it when it is
  used), valid until the given end (`validity_period_end`), minted by privacyIDEA and
  returned once; the helpdesk keeps only a hash (enrollment.services.bypass);
- notices to the end user: Django's email framework (SMTP from the environment), since
  privacyIDEA has no "send this message" call;
- enrollment and activation: the notice names privacyIDEA's portal (PRIVACYIDEA_PORTAL_URL);
  the seed and the QR code stay between privacyIDEA and the end user.

What privacyIDEA does not report (phones, message deliveries, provider health, fraud reports,
verification pushes) is left out of `capabilities`; the checks answer `unknown` for it.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail

from enrollment import mfa
from enrollment.enums import AuthenticatorStatus, Method
from enrollment.models import Authenticator, BypassCode, EndUser
from enrollment.privacyidea.client import PrivacyIDEAClient, PrivacyIDEAConfig, value

# privacyIDEA's /validate/check messages (lib/token.py, lib/tokenclass.py) -> our reasons.
# Matched as prefixes, lower-cased; anything else is kept verbatim as the reason.
REASONS: tuple[tuple[str, str, str], ...] = (
    # (message prefix, result, reason)
    ("matching", "success", "valid_passcode"),
    ("wrong otp value", "denied", "invalid_passcode"),
    ("wrong otp pin", "denied", "invalid_passcode"),
    ("failcounter exceeded", "denied", "locked_out"),
    ("the user has no tokens assigned", "denied", "deny_unenrolled_user"),
    ("user is not allowed to authenticate", "denied", "denied_by_policy"),
    ("the user is not allowed", "denied", "denied_by_policy"),
    ("outside validity period", "denied", "invalid_passcode"),
    ("challenge", "denied", "no_response"),
)

# privacyIDEA token types -> our methods.
METHODS: dict[str, str] = {
    "totp": Method.TOTP,
    "hotp": Method.HOTP_TOKEN,
    "sms": Method.SMS,
    "email": Method.EMAIL,
    "push": Method.PUSH,
    "webauthn": Method.WEBAUTHN,
    "passkey": Method.WEBAUTHN,
    "u2f": Method.WEBAUTHN,
    "tan": Method.BACKUP_CODES,
    "paper": Method.BACKUP_CODES,
}
# Token types that are not authenticators of their own: a registration token is a bypass
# code, minted for one sign-in.
BYPASS_TOKEN_TYPES = frozenset({"registration"})

ATTEMPT_CACHE_SECONDS = 3600


def _config() -> PrivacyIDEAConfig:
    realms = tuple(getattr(settings, "PRIVACYIDEA_REALMS", ()) or ())
    if not getattr(settings, "PRIVACYIDEA_URL", "") or not realms:
        raise mfa.ServiceUnavailable(
            "privacyIDEA is not configured: set PRIVACYIDEA_URL, PRIVACYIDEA_USERNAME, "
            "PRIVACYIDEA_PASSWORD and PRIVACYIDEA_REALMS."
        )
    return PrivacyIDEAConfig(
        url=settings.PRIVACYIDEA_URL,
        username=settings.PRIVACYIDEA_USERNAME,
        password=settings.PRIVACYIDEA_PASSWORD,
        realms=realms,
        verify_tls=settings.PRIVACYIDEA_VERIFY_TLS,
        timeout_seconds=settings.PRIVACYIDEA_TIMEOUT_SECONDS,
        portal_url=getattr(settings, "PRIVACYIDEA_PORTAL_URL", "") or settings.PRIVACYIDEA_URL,
    )


def map_message(accepted: bool, message: str, token_type: str = "") -> tuple[str, str]:
    """(result, reason) for a /validate/check answer or audit row."""
    if accepted:
        return "success", "bypass_user" if token_type in BYPASS_TOKEN_TYPES else "valid_passcode"
    lowered = message.strip().lower()
    for prefix, result, reason in REASONS:
        if lowered.startswith(prefix) and result != "success":
            return result, reason
    return "denied", message.strip() or "denied"


def _parse_time(raw: str) -> datetime:
    # The audit keeps naive UTC timestamps ("2026-12-04T03:35:46.789416").
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token_status(token: dict[str, Any]) -> str:
    if token.get("revoked"):
        return AuthenticatorStatus.REVOKED
    if token.get("rollout_state") not in ("", "enrolled", None):
        return AuthenticatorStatus.PENDING_ACTIVATION
    if not token.get("active", True):
        return AuthenticatorStatus.DISABLED
    return AuthenticatorStatus.ACTIVE


def service_token(token: dict[str, Any]) -> mfa.ServiceToken:
    return mfa.ServiceToken(
        serial=token["serial"],
        method=METHODS.get(token.get("tokentype", ""), Method.TOTP),
        status=_token_status(token),
        description=str(token.get("description") or ""),
        failcount=int(token.get("failcount") or 0),
        maxfail=int(token.get("maxfail") or 0),
        rollout_state=str(token.get("rollout_state") or ""),
    )


class PrivacyIDEAService(mfa.MFAService):
    """privacyIDEA behind the port. Holds one client (and its JWT) per configuration."""

    capabilities = frozenset(
        {
            mfa.CAPABILITY_TOKEN_RESYNC,
            mfa.CAPABILITY_TOKEN_ENABLE,
            mfa.CAPABILITY_SERVICE_BYPASS_CODES,
            mfa.CAPABILITY_DIRECTORY_SYNC,
        }
    )
    label = "privacyIDEA"

    def __init__(self) -> None:
        self._clients: dict[PrivacyIDEAConfig, PrivacyIDEAClient] = {}

    @property
    def client(self) -> PrivacyIDEAClient:
        config = _config()
        found = self._clients.get(config)
        if found is None:
            found = self._clients[config] = PrivacyIDEAClient(config)
        return found

    # --- identifiers ---------------------------------------------------------------------

    def _user(self, end_user_id: int) -> tuple[str, str]:
        """(username, realm) of an end user."""
        row = EndUser.objects.filter(pk=end_user_id).values("username", "service_id").first()
        if row is None:
            raise mfa.UnknownObject(f"No end user {end_user_id}.")
        if row["service_id"] and "@" in row["service_id"]:
            username, realm = row["service_id"].rsplit("@", 1)
            return username, realm
        return row["username"], self.client.config.default_realm

    def _serial(self, authenticator_id: int) -> str:
        serial = (
            Authenticator.objects.filter(pk=authenticator_id)
            .values_list("serial", flat=True)
            .first()
        )
        if not serial:
            raise mfa.UnknownObject(
                f"Authenticator {authenticator_id} has no privacyIDEA serial; sync the directory."
            )
        return serial

    def _tokens(self, operation: str, username: str, realm: str) -> list[dict[str, Any]]:
        found = value(
            self.client.get(operation, "/token/", user=username, realm=realm, pagesize=200)
        )
        return list((found or {}).get("tokens") or [])

    # --- Sign-in and verification ----------------------------------------------------------

    def _check(self, operation: str, *, username: str, realm: str, passcode: str, serial=None):
        params: dict[str, Any] = {"pass": passcode}
        if serial:
            params["serial"] = serial
        else:
            params.update(user=username, realm=realm)
        body = self.client.post(operation, "/validate/check", **params)
        result = body.get("result", {})
        detail = body.get("detail") or {}
        accepted = result.get("authentication") == "ACCEPT" or result.get("value") is True
        message = str(detail.get("message") or result.get("authentication") or "")
        return accepted, message, str(detail.get("type") or ""), str(detail.get("serial") or "")

    def sign_in(
        self,
        *,
        end_user_id: int,
        application: str | None = None,
        factor: str = mfa.FACTOR_AUTO,
        passcode: str | None = None,
        device_id: int | None = None,
    ) -> mfa.SignInAttempt:
        """A sign-in with the code the caller reads out, checked by privacyIDEA (its fail
        counters and lockout apply). Without a code privacyIDEA has nothing to check: the
        attempt ends as an error saying so. Side effects: privacyIDEA's audit row; a used
        registration token (bypass code) is deleted by privacyIDEA and marked used here."""
        username, realm = self._user(end_user_id)
        now = self.now()
        if not passcode:
            attempt = mfa.SignInAttempt(
                id=f"pi-{secrets.token_hex(8)}",
                status="final",
                result="error",
                reason="factor_restricted",
                factor=factor,
                device_id=None,
                application=application,
                created_at=now,
                detail="privacyIDEA checks a code; ask the caller for the code their "
                "authenticator shows now.",
            )
        else:
            accepted, message, token_type, _ = self._check(
                "Sign-in at privacyIDEA", username=username, realm=realm, passcode=passcode
            )
            result, reason = map_message(accepted, message, token_type)
            if accepted and token_type in BYPASS_TOKEN_TYPES:
                # privacyIDEA deleted the registration token; the directory's record of the
                # code follows (its hash matches the code typed). Imported here: the
                # services import the port, which imports this adapter by its dotted path.
                from enrollment.services.bypass import bypass_code_redeem

                bypass_code_redeem(end_user_id=end_user_id, code=passcode)
            attempt = mfa.SignInAttempt(
                id=f"pi-{secrets.token_hex(8)}",
                status="final",
                result=result,
                reason=reason,
                factor=Method.BACKUP_CODES
                if token_type in BYPASS_TOKEN_TYPES
                else METHODS.get(token_type, factor if factor != mfa.FACTOR_AUTO else "totp"),
                device_id=None,
                application=application,
                created_at=now,
                detail=message,
            )
        cache.set(f"privacyidea:attempt:{attempt.id}", attempt, ATTEMPT_CACHE_SECONDS)
        return attempt

    def attempt(self, *, attempt_id: str) -> mfa.SignInAttempt:
        found = cache.get(f"privacyidea:attempt:{attempt_id}")
        if found is None:
            raise mfa.UnknownObject(f"No sign-in attempt {attempt_id}.")
        return found

    def send_verification_push(
        self, *, end_user_id: int, device_id: int, context: str
    ) -> mfa.PushRequest:
        raise mfa.NotSupported(mfa.not_reported_reason(mfa.CAPABILITY_VERIFICATION_PUSH))

    def push_status(self, *, push_id: str) -> mfa.PushRequest:
        raise mfa.NotSupported(mfa.not_reported_reason(mfa.CAPABILITY_VERIFICATION_PUSH))

    def verify_passcode(
        self, *, end_user_id: int, passcode: str, authenticator_id: int | None = None
    ) -> mfa.PasscodeResult:
        """Checks the caller's code with privacyIDEA (which counts a wrong one against the
        token's fail counter, as any check there does)."""
        username, realm = self._user(end_user_id)
        serial = self._serial(authenticator_id) if authenticator_id is not None else None
        accepted, message, _, matched_serial = self._check(
            "Code check at privacyIDEA",
            username=username,
            realm=realm,
            passcode=passcode,
            serial=serial,
        )
        if not accepted:
            return mfa.PasscodeResult(ok=False, reason=map_message(False, message)[1])
        matched = (
            Authenticator.objects.filter(end_user_id=end_user_id, serial=matched_serial)
            .exclude(status=AuthenticatorStatus.REVOKED)
            .values_list("pk", flat=True)
            .first()
        )
        return mfa.PasscodeResult(ok=True, reason="valid_passcode", authenticator_id=matched)

    def resync_token(
        self, *, authenticator_id: int, first_code: str, second_code: str
    ) -> mfa.ResyncResult:
        """`POST /token/resync`. privacyIDEA does not say by how much the token was off."""
        serial = self._serial(authenticator_id)
        ok = value(
            self.client.post(
                "Resync at privacyIDEA",
                "/token/resync",
                serial=serial,
                otp1=first_code,
                otp2=second_code,
            )
        )
        if not ok:
            return mfa.ResyncResult(ok=False, offset_steps=None, reason="no_match")
        return mfa.ResyncResult(ok=True, offset_steps=None, reason="resynchronised")

    # --- What the service reports ----------------------------------------------------------

    def device_report(self, *, end_user_id: int) -> list[mfa.DeviceReport]:
        raise mfa.NotSupported(mfa.not_reported_reason(mfa.CAPABILITY_DEVICE_REPORT))

    def auth_log(self, *, end_user_id: int, limit: int = 20) -> list[mfa.AuthLogEntry]:
        """privacyIDEA's audit rows for the user's /validate/check calls, newest first."""
        username, realm = self._user(end_user_id)
        found = value(
            self.client.get(
                "Sign-in log from privacyIDEA",
                "/audit/",
                user=username,
                realm=realm,
                action="*validate/check*",
                page_size=limit,
                sortorder="desc",
            )
        )
        entries = []
        for row in (found or {}).get("auditdata") or []:
            accepted = row.get("authentication") == "ACCEPT" or (
                not row.get("authentication") and row.get("success") == 1
            )
            message = str(row.get("info") or "")
            token_type = str(row.get("token_type") or "")
            result, reason = map_message(accepted, message, token_type)
            if not accepted and row.get("success") in (0, "0") and not message:
                result, reason = "error", "error"
            entries.append(
                mfa.AuthLogEntry(
                    at=_parse_time(str(row.get("date") or row.get("startdate"))),
                    application=None,
                    factor=Method.BACKUP_CODES
                    if token_type in BYPASS_TOKEN_TYPES
                    else METHODS.get(token_type, "auto"),
                    result=result,
                    reason=reason,
                    device_id=None,
                    detail=message,
                )
            )
        entries.sort(key=lambda entry: entry.at, reverse=True)
        return entries[:limit]

    def delivery_log(self, *, end_user_id: int, limit: int = 20) -> list[mfa.DeliveryReport]:
        raise mfa.NotSupported(mfa.not_reported_reason(mfa.CAPABILITY_DELIVERY_LOG))

    def provider_status(self) -> mfa.ProviderStatus:
        raise mfa.NotSupported(mfa.not_reported_reason(mfa.CAPABILITY_PROVIDER_STATUS))

    def fraud_signals(self, *, end_user_id: int) -> list[mfa.FraudSignal]:
        """privacyIDEA has no fraud reports: none are open (the fraud check still says it
        does not know, through the capabilities)."""
        return []

    # --- Service-side effects --------------------------------------------------------------

    def _email(self, end_user_id: int, subject: str, body: str) -> None:
        address = EndUser.objects.filter(pk=end_user_id).values_list("email", flat=True).first()
        if address is None:
            raise mfa.UnknownObject(f"No end user {end_user_id}.")
        if not address:
            raise mfa.ServiceRefused("The end user has no email address of record.")
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)

    def send_enrollment_email(self, *, end_user_id: int, enroll_by: datetime) -> None:
        """Side effects: an email naming privacyIDEA's portal, where the end user signs in
        and sets up their authenticator themselves."""
        self._email(
            end_user_id,
            "Set up multi-factor authentication",
            f"Sign in at {self.client.config.portal_url} and add an authenticator app "
            f"before {enroll_by:%Y-%m-%d %H:%M} UTC.",
        )

    def send_activation(self, *, authenticator_id: int, expires_at: datetime) -> mfa.ActivationInfo:
        row = Authenticator.objects.filter(pk=authenticator_id).values("end_user_id").first()
        if row is None:
            raise mfa.UnknownObject(f"No authenticator {authenticator_id}.")
        self._email(
            row["end_user_id"],
            "Set up your authenticator again",
            f"Sign in at {self.client.config.portal_url} and set up your authenticator app "
            f"before {expires_at:%Y-%m-%d %H:%M} UTC.",
        )
        return mfa.ActivationInfo(
            authenticator_id=authenticator_id, expires_at=expires_at, channel="email"
        )

    def reset_authenticator(self, *, authenticator_id: int) -> None:
        """Deletes the token at privacyIDEA (its seed is gone); the end user enrols again.
        A token privacyIDEA no longer has counts as reset."""
        serial = self._serial(authenticator_id)
        with contextlib.suppress(mfa.UnknownObject):
            self.client.delete("Reset at privacyIDEA", f"/token/{serial}")

    def disable_authenticator(self, *, authenticator_id: int) -> None:
        self.client.post(
            "Disable at privacyIDEA", f"/token/disable/{self._serial(authenticator_id)}"
        )

    def enable_authenticator(self, *, authenticator_id: int) -> None:
        self.client.post("Enable at privacyIDEA", f"/token/enable/{self._serial(authenticator_id)}")

    def unlock_user(self, *, end_user_id: int) -> None:
        """Resets the fail counter of each of the user's tokens."""
        username, realm = self._user(end_user_id)
        for token in self._tokens("Unlock at privacyIDEA", username, realm):
            if token.get("tokentype") in BYPASS_TOKEN_TYPES:
                continue
            self.client.post("Unlock at privacyIDEA", f"/token/reset/{token['serial']}")

    def notify_end_user(self, *, end_user_id: int, subject: str, body: str) -> None:
        """Through Django's email framework (privacyIDEA sends no free-form messages)."""
        self._email(end_user_id, subject, body)

    def issue_bypass_code(self, *, end_user_id: int, expires_at: datetime) -> str:
        """A registration token: privacyIDEA accepts its code once and deletes it, and not
        after `expires_at`. The code's length and alphabet follow privacyIDEA's enrollment
        policy (registration.length / registration.contents; see docs/privacyidea.md)."""
        username, realm = self._user(end_user_id)
        end = expires_at.astimezone(UTC)
        found = self.client.post(
            "Temporary code at privacyIDEA",
            "/token/init",
            type="registration",
            user=username,
            realm=realm,
            description="Helpdesk temporary code",
            validity_period_end=end.strftime("%Y-%m-%dT%H:%M+0000"),
        )
        code = (found.get("detail") or {}).get("registrationcode")
        if not code:
            raise mfa.ServiceRefused("Temporary code at privacyIDEA: no code came back.")
        return str(code)

    def register_bypass_codes_changed(self, *, end_user_id: int) -> None:
        """When the directory holds no usable code of the end user any more (revoked, used,
        expired), their registration tokens at privacyIDEA are deleted too."""
        if BypassCode.objects.filter(
            end_user_id=end_user_id,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=self.now(),
        ).exists():
            return
        username, realm = self._user(end_user_id)
        operation = "Withdrawing temporary codes at privacyIDEA"
        for token in self._tokens(operation, username, realm):
            if token.get("tokentype") in BYPASS_TOKEN_TYPES:
                # A code used meanwhile is already gone (privacyIDEA deleted it itself).
                with contextlib.suppress(mfa.UnknownObject):
                    self.client.delete(operation, f"/token/{token['serial']}")

    def now(self) -> datetime:
        return datetime.now(UTC)

    # --- The directory -----------------------------------------------------------------------

    def _service_user(self, realm: str, row: dict[str, Any], tokens) -> mfa.ServiceUser:
        full_name = " ".join(
            part for part in (row.get("givenname") or "", row.get("surname") or "") if part
        )
        return mfa.ServiceUser(
            service_id=f"{row['username']}@{realm}",
            username=str(row["username"]),
            full_name=full_name or str(row.get("description") or "").split(",")[0],
            email=str(row.get("email") or ""),
            mobile=str(row.get("mobile") or ""),
            phone=str(row.get("phone") or ""),
            tokens=tuple(
                service_token(token)
                for token in tokens
                if token.get("tokentype") not in BYPASS_TOKEN_TYPES
            ),
        )

    def directory_users(self) -> list[mfa.ServiceUser]:
        """Every user of every configured realm, with their tokens (one token listing per
        realm, paged)."""
        operation = "Directory import from privacyIDEA"
        users: list[mfa.ServiceUser] = []
        for realm in self.client.config.realms:
            rows = value(self.client.get(operation, "/user/", realm=realm)) or []
            by_user: dict[str, list[dict[str, Any]]] = {}
            page = 1
            while True:
                found = (
                    value(
                        self.client.get(operation, "/token/", realm=realm, page=page, pagesize=200)
                    )
                    or {}
                )
                for token in found.get("tokens") or []:
                    if token.get("username"):
                        by_user.setdefault(token["username"], []).append(token)
                if not found.get("next"):
                    break
                page = found["next"]
            for row in rows:
                users.append(self._service_user(realm, row, by_user.get(row["username"], [])))
        return users

    def directory_user(self, *, end_user_id: int) -> mfa.ServiceUser | None:
        username, realm = self._user(end_user_id)
        operation = "Directory refresh from privacyIDEA"
        rows = value(self.client.get(operation, "/user/", realm=realm, username=username)) or []
        if not rows:
            return None
        return self._service_user(realm, rows[0], self._tokens(operation, username, realm))
