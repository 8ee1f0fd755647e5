"""One-time set-up links: how a new staff member gets a password and an authenticator app
that only they know.

The creator never sees a password. staff_create leaves the account without a usable one
and issues a link row; the Celery task helpdesk.tasks.send_staff_setup_link makes the token,
stores only its SHA-256, and emails the link through Django's email framework. Following
the link, the staff member chooses a password and enrolls their own TOTP device in one
step (staff_setup_complete); the link then never works again, and it expires after
STAFF_SETUP_LINK_HOURS.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import Staff, StaffSetupLink
from helpdesk.outbox import enqueue_on_commit
from helpdesk.services.audit import now
from helpdesk.services.staff_mfa import totp_device_for_enrollment

TOKEN_BYTES = 32


class SetupLinkInvalid(Exception):
    """The link is unknown, used, expired or for a deactivated account."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def setup_link_issue(*, staff: Staff, created_by: Staff | None) -> StaffSetupLink:
    """A new set-up link for `staff`, replacing any unused one; the email goes out after
    commit (the task makes the token). Call inside the creating service's transaction."""
    # Imported here: helpdesk.tasks imports this module.
    from helpdesk.tasks import send_staff_setup_link

    moment = now()
    StaffSetupLink.objects.filter(staff=staff, used_at__isnull=True).update(expires_at=moment)
    link = StaffSetupLink.objects.create(
        staff=staff,
        created_by=created_by,
        created_at=moment,
        expires_at=moment + timedelta(hours=settings.STAFF_SETUP_LINK_HOURS),
    )
    # Through the outbox: a broker outage delays the email instead of failing the creation.
    enqueue_on_commit(send_staff_setup_link, link_id=link.pk)
    return link


def setup_link_token_make(link: StaffSetupLink) -> str | None:
    """Makes the link's token once and stores its hash; None when it was made already (the
    task ran before) or the link is no longer usable, so running twice sends one link."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        made = StaffSetupLink.objects.filter(
            pk=link.pk, token_hash="", used_at__isnull=True, expires_at__gt=now()
        ).update(token_hash=_hash(token), sent_at=now())
    return token if made else None


def setup_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("helpdesk:staff-setup", kwargs={"token": token})


def setup_link_send(*, link_id: int) -> bool:
    """Emails the link to the staff member's address. Returns whether a mail went out."""
    link = StaffSetupLink.objects.select_related("staff").filter(pk=link_id).first()
    if link is None or not link.staff.email:
        return False
    token = setup_link_token_make(link)
    if token is None:
        return False
    hours = settings.STAFF_SETUP_LINK_HOURS
    try:
        _mail(link, token, hours)
    except Exception:
        # Not sent: forget this token so the task's retry makes and sends a fresh one.
        StaffSetupLink.objects.filter(pk=link.pk, token_hash=_hash(token)).update(
            token_hash="", sent_at=None
        )
        raise
    return True


def _mail(link: StaffSetupLink, token: str, hours: int) -> None:
    send_mail(
        subject="Set up your MFA Helpdesk account",
        message=(
            f"Hello {link.staff.get_full_name() or link.staff.username},\n\n"
            f"An account named {link.staff.username} was created for you on the MFA Helpdesk. "
            "Open this link to choose your password and set up your authenticator app:\n\n"
            f"{setup_link_url(token)}\n\n"
            f"The link works once and expires in {hours} hours. If you did not expect it, "
            "tell your helpdesk administrator.\n"
        ),
        from_email=None,
        recipient_list=[link.staff.email],
    )


def setup_link_find(token: str) -> StaffSetupLink:
    """The usable link for `token`. Raises SetupLinkInvalid."""
    link = (
        StaffSetupLink.objects.select_related("staff")
        .filter(token_hash=_hash(token or ""))
        .exclude(token_hash="")
        .first()
    )
    if (
        link is None
        or link.used_at is not None
        or link.expires_at <= now()
        or not link.staff.is_active
    ):
        raise SetupLinkInvalid(
            "This set-up link is not valid any more: it was used, it expired or it was "
            "replaced. Ask your administrator for a new one."
        )
    return link


def setup_totp_device(link: StaffSetupLink) -> TOTPDevice:
    """The pending authenticator the set-up page shows (the same one on every reload)."""
    return totp_device_for_enrollment(link.staff)


def staff_setup_complete(*, token: str, password: str, code: str) -> Staff:
    """Sets the password and confirms the authenticator app in one step, and spends the
    link. Raises SetupLinkInvalid, or ValidationError ({"password": …} or {"code": …})
    with nothing changed."""
    with transaction.atomic():
        found = setup_link_find(token)
        link = StaffSetupLink.objects.select_for_update().get(pk=found.pk)
        if link.used_at is not None:  # spent by a concurrent request
            raise SetupLinkInvalid("This set-up link has just been used.")
        staff = Staff.objects.select_for_update().get(pk=link.staff_id)
        try:
            validate_password(password, staff)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=staff, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None or not device.verify_token(code):
            raise ValidationError(
                {"code": "That code does not match. Scan the QR code again and retry."}
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=staff, confirmed=False).delete()
        staff.set_password(password)
        staff.save(update_fields=["password"])
        link.used_at = now()
        link.save(update_fields=["used_at"])
    return staff
