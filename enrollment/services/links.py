"""Directory writes for enrollment and activation links.

These are the unguarded building blocks: they keep the link rules (30-day enroll-by that a
resend never extends; one unexpired activation link at a time) and hand delivery to the MFA
service after commit. The guarded recovery actions (identity verification, second approver,
ticket events) wrap them.
"""

from datetime import datetime, timedelta

from django.db import transaction

from enrollment import clock, conf
from enrollment.mfa import get_mfa_service
from enrollment.models import ActivationLink, Authenticator, EndUser, EnrollmentLink
from enrollment.selectors import activation_link_current


class EnrollmentLinkExpired(Exception):
    """The enrollment link's enroll-by date has passed; a new link is needed."""

    def __init__(self, enroll_by: datetime) -> None:
        super().__init__(f"The enrollment link expired on {enroll_by:%Y-%m-%d %H:%M} UTC.")
        self.enroll_by = enroll_by


class ActivationLinkStillValid(Exception):
    """An unexpired activation link exists; a new one can be sent once it expires."""

    def __init__(self, expires_at: datetime) -> None:
        super().__init__(
            f"An activation link is still valid until {expires_at:%Y-%m-%d %H:%M} UTC."
        )
        self.expires_at = expires_at


@transaction.atomic
def enrollment_link_issue(
    *, end_user: EndUser, valid_for: timedelta | None = None
) -> EnrollmentLink:
    """Creates an enrollment link valid for `valid_for` (default ENROLLMENT_LINK_DAYS, 30
    days) and counts it as sent once.

    Side effects: after commit, asks the MFA service to email it (send_enrollment_email)."""
    now = clock.now()
    link = EnrollmentLink.objects.create(
        end_user=end_user,
        created_at=now,
        enroll_by=now + (valid_for or conf.enrollment_link_lifetime()),
        sent_count=1,
        last_sent_at=now,
    )
    _send_enrollment_email_on_commit(link)
    return link


@transaction.atomic
def enrollment_link_resend(*, link: EnrollmentLink) -> EnrollmentLink:
    """Sends the same link again. The enroll-by date stays the original one.

    Side effects: increments sent_count, stamps last_sent_at; after commit, asks the MFA
    service to email it. Raises EnrollmentLinkExpired once enroll_by has passed."""
    locked = EnrollmentLink.objects.select_for_update().get(pk=link.pk)
    now = clock.now()
    if locked.is_expired(now):
        raise EnrollmentLinkExpired(locked.enroll_by)
    locked.sent_count += 1
    locked.last_sent_at = now
    locked.save(update_fields=["sent_count", "last_sent_at"])
    _send_enrollment_email_on_commit(locked)
    return locked


@transaction.atomic
def activation_link_issue(
    *, authenticator: Authenticator, valid_for: timedelta | None = None
) -> ActivationLink:
    """Creates an activation link valid for `valid_for` (default ACTIVATION_LINK_HOURS, 24).

    Side effects: after commit, asks the MFA service to send the activation. Raises
    ActivationLinkStillValid (with its expiry) while an unexpired, unused link exists."""
    # Lock the authenticator so two technicians cannot both pass the check at once.
    Authenticator.objects.select_for_update().filter(pk=authenticator.pk).first()
    current = activation_link_current(authenticator=authenticator)
    if current is not None:
        raise ActivationLinkStillValid(current.expires_at)
    now = clock.now()
    link = ActivationLink.objects.create(
        authenticator=authenticator,
        created_at=now,
        expires_at=now + (valid_for or conf.activation_link_lifetime()),
    )
    authenticator_id, expires_at = authenticator.pk, link.expires_at
    transaction.on_commit(
        lambda: get_mfa_service().send_activation(
            authenticator_id=authenticator_id, expires_at=expires_at
        )
    )
    return link


def _send_enrollment_email_on_commit(link: EnrollmentLink) -> None:
    end_user_id, enroll_by = link.end_user_id, link.enroll_by
    transaction.on_commit(
        lambda: get_mfa_service().send_enrollment_email(
            end_user_id=end_user_id, enroll_by=enroll_by
        )
    )
