"""One-time passwords as the simulated service and the simulated devices compute them.

TOTP and HOTP come from pyotp. A device computes its TOTP code from its OWN clock (the
service's clock plus the device's offset when automatic time is off); the service accepts a
code within a drift window of whole time steps around its own clock, shifted by any offset
learnt from a resync. Nothing here reads a clock: callers pass the instants in, taken from
`enrollment.clock.now()`, so a test or the case simulator can move time without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp

from authsim import conf

INTERVAL = 30
DIGITS = 6


def new_secret() -> str:
    """A fresh base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str, *, digits: int = DIGITS, digest=hashlib.sha1) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=digest, interval=INTERVAL)


def totp_at(secret: str, at: datetime | int, *, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """The TOTP code for instant `at` (an aware datetime or a Unix timestamp)."""
    timestamp = int(at.timestamp()) if isinstance(at, datetime) else int(at)
    return _totp(secret, digits=digits, digest=digest).at(timestamp)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // INTERVAL


def totp_match(
    secret: str,
    code: str,
    at: datetime,
    *,
    offset_steps: int = 0,
    window: int | None = None,
) -> int | None:
    """The step offset (relative to `at` shifted by `offset_steps`) at which `code` is valid,
    within ±`window` steps, or None. Comparisons are constant-time."""
    window = conf.drift_window_steps() if window is None else window
    totp = _totp(secret)
    base = time_step(at) + offset_steps
    code = (code or "").strip()
    for delta in sorted(range(-window, window + 1), key=abs):
        if hmac.compare_digest(totp.generate_otp(base + delta), code):
            return delta
    return None


def hotp_at(secret: str, counter: int) -> str:
    return pyotp.HOTP(secret, digits=DIGITS).at(counter)


def hotp_match(
    secret: str, code: str, counter: int, *, look_ahead: int | None = None
) -> int | None:
    """The counter value `code` matches among `counter` .. `counter + look_ahead`, or None.

    A token pressed a few times without signing in runs ahead of the service; the look-ahead
    window absorbs that, a resync absorbs more."""
    look_ahead = conf.hotp_look_ahead() if look_ahead is None else look_ahead
    hotp = pyotp.HOTP(secret, digits=DIGITS)
    code = (code or "").strip()
    for value in range(counter, counter + look_ahead + 1):
        if hmac.compare_digest(hotp.at(value), code):
            return value
    return None


@dataclass(frozen=True)
class Resync:
    ok: bool
    # HOTP: the counter after the second code; TOTP: the step offset learnt.
    value: int | None
    reason: str


def hotp_resync(secret: str, first: str, second: str, counter: int) -> Resync:
    """Find two consecutive codes within the resync window ahead of `counter`."""
    hotp = pyotp.HOTP(secret, digits=DIGITS)
    first, second = (first or "").strip(), (second or "").strip()
    for value in range(counter, counter + conf.resync_window_steps() + 1):
        if hmac.compare_digest(hotp.at(value), first) and hmac.compare_digest(
            hotp.at(value + 1), second
        ):
            return Resync(ok=True, value=value + 2, reason="resynchronised")
    return Resync(ok=False, value=None, reason="codes_not_consecutive")


def totp_resync(secret: str, first: str, second: str, at: datetime) -> Resync:
    """Find the step offset at which `first` and the next step's `second` both match.

    The two codes are read off the device one interval apart, so `second` belongs to the
    step after `first`; `at` is the service's time when the second code arrives."""
    totp = _totp(secret)
    base = time_step(at)
    first, second = (first or "").strip(), (second or "").strip()
    span = conf.resync_window_steps()
    for delta in sorted(range(-span, span + 1), key=abs):
        step = base + delta
        if hmac.compare_digest(totp.generate_otp(step - 1), first) and hmac.compare_digest(
            totp.generate_otp(step), second
        ):
            return Resync(ok=True, value=delta, reason="resynchronised")
        if hmac.compare_digest(totp.generate_otp(step), first) and hmac.compare_digest(
            totp.generate_otp(step + 1), second
        ):
            return Resync(ok=True, value=delta + 1, reason="resynchronised")
    return Resync(ok=False, value=None, reason="codes_not_consecutive")


def token_seed(serial: str) -> str:
    """The seed of the hardware token with this serial.

    Vendors ship tokens with a seed file keyed by serial; the simulator derives the seed from
    the serial instead, so a mistyped serial yields a different token's seed and its codes
    never match, exactly as with a real seed file."""
    digest = hmac.new(b"authsim-token-seed", serial.strip().encode(), hashlib.sha1).digest()
    return base64.b32encode(digest).decode()


BACKUP_CODE_COUNT = 10


def backup_codes(secret: str) -> list[str]:
    """The printed list of backup codes that goes with `secret` (8 digits each)."""
    hotp = pyotp.HOTP(secret, digits=8)
    return [hotp.at(index) for index in range(BACKUP_CODE_COUNT)]


def backup_match(secret: str, code: str, used_mask: int) -> int | None:
    """The index of the unused backup code equal to `code`, or None. Every code is compared
    (constant time per code), so timing does not tell which one matched."""
    found = None
    code = (code or "").strip().replace(" ", "").replace("-", "")
    for index, candidate in enumerate(backup_codes(secret)):
        if hmac.compare_digest(candidate, code) and not used_mask & (1 << index) and found is None:
            found = index
    return found
