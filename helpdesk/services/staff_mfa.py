"""TOTP devices for staff sign-in (django-otp)."""

import base64

import segno
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import Staff


@transaction.atomic
def totp_device_for_enrollment(staff: Staff) -> TOTPDevice:
    """The staff member's unconfirmed TOTP device, created on first use.

    Reusing one pending device means reloading the enrollment page keeps the same QR code,
    so a scan made a moment ago still works.
    """
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=staff, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=staff, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirms a pending device when `token` is valid for it; other pending devices of the
    same staff member are removed. Returns whether the code matched."""
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    return True


def totp_provisioning_qr(device: TOTPDevice) -> dict[str, str]:
    """What the enrollment page shows: a QR code image and the key for manual entry."""
    uri = device.config_url
    manual_key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return {
        "qr_data_uri": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        "manual_key": " ".join(manual_key[i : i + 4] for i in range(0, len(manual_key), 4)),
    }
