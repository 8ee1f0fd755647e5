import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from authsim import otp

# RFC 6238 Appendix B: the SHA1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_totp_matches_rfc6238_sha1_vectors(timestamp, code):
    assert otp.totp_at(RFC_SECRET, timestamp, digits=8, digest=hashlib.sha1) == code


def test_totp_at_accepts_an_aware_datetime():
    at = datetime.fromtimestamp(1111111109, tz=UTC)
    assert otp.totp_at(RFC_SECRET, at, digits=8) == "07081804"


# RFC 4226 Appendix D: HOTP values for counters 0..9 with the same seed.
@pytest.mark.parametrize(
    ("counter", "code"),
    [(0, "755224"), (1, "287082"), (2, "359152"), (9, "520489")],
)
def test_hotp_matches_rfc4226_vectors(counter, code):
    assert otp.hotp_at(RFC_SECRET, counter) == code


NOW = datetime(2026, 11, 23, 12, 0, 15, tzinfo=UTC)


def test_totp_match_accepts_the_current_step():
    code = otp.totp_at(RFC_SECRET, NOW)
    assert otp.totp_match(RFC_SECRET, code, NOW) == 0


def test_totp_match_accepts_a_device_one_step_off_within_the_drift_window():
    device_now = NOW + timedelta(seconds=30)
    code = otp.totp_at(RFC_SECRET, device_now)
    assert otp.totp_match(RFC_SECRET, code, NOW) == 1


def test_totp_match_rejects_a_device_four_minutes_off():
    device_now = NOW + timedelta(minutes=4)
    code = otp.totp_at(RFC_SECRET, device_now)
    assert otp.totp_match(RFC_SECRET, code, NOW) is None


def test_totp_match_with_a_learnt_offset_accepts_the_skewed_device():
    device_now = NOW + timedelta(minutes=4)
    code = otp.totp_at(RFC_SECRET, device_now)
    assert otp.totp_match(RFC_SECRET, code, NOW, offset_steps=8) == 0


def test_totp_match_honours_the_drift_window_setting(settings):
    settings.AUTHSIM_DRIFT_WINDOW_STEPS = 0
    code = otp.totp_at(RFC_SECRET, NOW + timedelta(seconds=30))
    assert otp.totp_match(RFC_SECRET, code, NOW) is None


def test_totp_resync_learns_the_offset_from_two_consecutive_codes():
    device_now = NOW + timedelta(minutes=4)
    first = otp.totp_at(RFC_SECRET, device_now - timedelta(seconds=30))
    second = otp.totp_at(RFC_SECRET, device_now)
    assert otp.totp_resync(RFC_SECRET, first, second, NOW) == otp.Resync(
        ok=True, value=8, reason="resynchronised"
    )


def test_totp_resync_refuses_codes_that_are_not_consecutive():
    first = otp.totp_at(RFC_SECRET, NOW)
    second = otp.totp_at(RFC_SECRET, NOW + timedelta(minutes=2))
    assert otp.totp_resync(RFC_SECRET, first, second, NOW).ok is False


def test_hotp_match_looks_ahead_of_the_counter():
    assert otp.hotp_match(RFC_SECRET, otp.hotp_at(RFC_SECRET, 7), 3) == 7


def test_hotp_match_rejects_a_code_beyond_the_look_ahead():
    assert otp.hotp_match(RFC_SECRET, otp.hotp_at(RFC_SECRET, 40), 3) is None


def test_hotp_match_rejects_a_code_already_used():
    assert otp.hotp_match(RFC_SECRET, otp.hotp_at(RFC_SECRET, 2), 3) is None


def test_hotp_resync_finds_two_consecutive_codes_far_ahead():
    first, second = otp.hotp_at(RFC_SECRET, 60), otp.hotp_at(RFC_SECRET, 61)
    assert otp.hotp_resync(RFC_SECRET, first, second, 3) == otp.Resync(
        ok=True, value=62, reason="resynchronised"
    )


def test_hotp_resync_refuses_codes_out_of_order():
    first, second = otp.hotp_at(RFC_SECRET, 61), otp.hotp_at(RFC_SECRET, 60)
    assert otp.hotp_resync(RFC_SECRET, first, second, 3).ok is False


def test_new_secret_is_base32_of_160_bits():
    secret = otp.new_secret()
    assert len(base64.b32decode(secret)) == 20
