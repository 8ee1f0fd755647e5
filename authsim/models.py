"""The simulated MFA service's own records, and the simulated world around it.

Two kinds of state live here, kept apart on purpose:

- **Service state** — what a real MFA service holds: OTP secrets and HOTP counters, sign-in
  attempts (its auth log), pushes, deliveries, fraud reports, provider configuration,
  invalid-attempt counters, sessions and remembered devices. The port (authsim.service)
  reports from these.
- **Device-side truth** — what is true on the end user's phone or in their mailbox and no
  service can see: notifications off, a clock running late, camera permission, no network,
  a stale push token, the phone being lost, which folder an email landed in. Only the device
  simulator pages and the simulated caller (authsim.caller) read it; nothing reaches the
  helpdesk except through its effects.
"""

import uuid

from django.db import models
from django.db.models import Q

from enrollment import clock

# The port's vocabularies: the service's records use the directory's own definitions.
from enrollment.enums import AttemptStatus, Channel, DeliveryStatus, PushStatus
from enrollment.models import Authenticator, Device, EndUser


def new_public_id() -> str:
    """An opaque transaction id, as a vendor would mint it."""
    return uuid.uuid4().hex


class ProviderState(models.Model):
    """The delivery providers' configuration and health (one row, pk=1).

    Shared by every end user: a scenario resets it to these defaults before applying its
    `providers:` section."""

    sms_configured = models.BooleanField(default=True)
    sms_healthy = models.BooleanField(default=True)
    sms_rate_limited = models.BooleanField(default=False)
    sms_carrier_delay_seconds = models.PositiveIntegerField(default=0)
    email_healthy = models.BooleanField(default=True)
    email_sender_filtered = models.BooleanField(default=False)
    voice_healthy = models.BooleanField(default=True)
    push_healthy = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="authsim_providerstate_single_row")
        ]

    def __str__(self) -> str:
        return "Delivery providers"

    @classmethod
    def current(cls) -> "ProviderState":
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class SimUser(models.Model):
    """Per end user: the service's counters and session, and the caller's own habits."""

    end_user = models.OneToOneField(EndUser, on_delete=models.CASCADE, related_name="sim")
    # Service side.
    invalid_attempts = models.PositiveIntegerField(default=0)
    session_valid_until = models.DateTimeField(null=True, blank=True)
    # Caller side: how long they take to answer a push or type a code, and whether they
    # have marked the service's sender "not spam" in their mail client.
    response_delay_seconds = models.PositiveIntegerField(default=0)
    trusts_sender = models.BooleanField(default=False)
    # The mobile number the end user actually carries (what they tell the helpdesk when the
    # directory has none); blank = the directory's own.
    own_mobile = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Simulated state of {self.end_user_id}"


class Network(models.TextChoices):
    WIFI = "wifi", "Wi-Fi"
    CELLULAR = "cellular", "Cellular"
    NONE = "none", "No network"


class SimDevice(models.Model):
    """What is true on one device (one-to-one with the directory's Device)."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="sim")
    app_installed = models.BooleanField(default=True)
    # The version actually installed; Device.app_version is what the service last heard.
    app_version = models.CharField(max_length=32, blank=True)
    online = models.BooleanField(default=True)
    network = models.CharField(max_length=16, choices=Network.choices, default=Network.WIFI)
    notifications_enabled = models.BooleanField(default=True)
    camera_permission = models.BooleanField(default=True)
    clock_offset_seconds = models.IntegerField(default=0)
    automatic_time = models.BooleanField(default=True)
    push_token_valid = models.BooleanField(default=True)
    lost = models.BooleanField(default=False)
    # The serial printed on a hardware token.
    serial = models.CharField(max_length=64, blank=True)
    # The token's own HOTP counter (advances each time its button is pressed).
    token_counter = models.PositiveIntegerField(default=0)
    # Service side: remembered by a new-devices-only policy until then.
    remembered_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Simulated device {self.device_id}"

    @property
    def reachable(self) -> bool:
        return self.online and self.network != Network.NONE

    @property
    def effective_clock_offset(self) -> int:
        """Seconds the device clock is off. With automatic time on, the network sets it."""
        return 0 if self.automatic_time else self.clock_offset_seconds


class OtpSecret(models.Model):
    """The service's secret for one authenticator, and the copy the device holds.

    They differ when the caller typed the manual key wrong (the device computes codes from
    a key the service never issued). Hardware tokens have no row: their seed is derived
    from the registered serial (authsim.otp.token_seed), as a vendor's seed file would give.
    """

    authenticator = models.OneToOneField(
        Authenticator, on_delete=models.CASCADE, related_name="otp_secret"
    )
    secret = models.CharField(max_length=64)
    device_secret = models.CharField(max_length=64, blank=True)
    # HOTP: the next counter the service expects. TOTP: the drift learnt by a resync.
    counter = models.PositiveIntegerField(default=0)
    drift_steps = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"Secret of authenticator {self.authenticator_id}"


class Attempt(models.Model):
    """A sign-in attempt: the service's auth log. Every attempt ends with a result and reason."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sim_attempts")
    application = models.CharField(max_length=150, blank=True)
    factor = models.CharField(max_length=32)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    authenticator = models.ForeignKey(
        Authenticator, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.PENDING
    )
    result = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    # A pending attempt is denied with no_response once the clock passes this.
    expires_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["end_user", "-created_at"], name="authsim_attempt_log")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", result="", reason="")
                | (Q(status="final") & ~Q(result="") & ~Q(reason="")),
                name="authsim_attempt_final_has_result",
            )
        ]

    def __str__(self) -> str:
        return f"Attempt {self.public_id}: {self.result or self.status} {self.reason}"


class Push(models.Model):
    """A push request: for a sign-in attempt, or a verification push from the helpdesk."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sim_pushes")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="sim_pushes")
    attempt = models.OneToOneField(
        Attempt, null=True, blank=True, on_delete=models.CASCADE, related_name="push"
    )
    context = models.CharField(max_length=300, blank=True)
    application = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=16, choices=PushStatus.choices, default="pending")
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Push {self.public_id}: {self.status}"


class Folder(models.TextChoices):
    INBOX = "inbox", "Inbox"
    SPAM = "spam", "Spam"


class MessageKind(models.TextChoices):
    CODE = "code", "Passcode"
    ENROLLMENT = "enrollment", "Enrollment invitation"
    ACTIVATION = "activation", "Activation"
    NOTICE = "notice", "Notice"
    PUSH = "push", "Push notification"


class Delivery(models.Model):
    """One message the service sent (a push notification, SMS, call or email) and what
    happened to it. The service knows `status` and `detail`; `folder` and `visible_at` are
    the recipient's side (which folder, when it actually arrived)."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sim_deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    push = models.OneToOneField(
        Push, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    authenticator = models.ForeignKey(
        Authenticator, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    code = models.CharField(max_length=16, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    # Recipient side: when it reached them (null = never, or not yet sent) and where.
    visible_at = models.DateTimeField(null=True, blank=True)
    folder = models.CharField(max_length=8, choices=Folder.choices, default=Folder.INBOX)
    # Codes only.
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["end_user", "-created_at"], name="authsim_delivery_log")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} to {self.end_user_id}: {self.status}"


class FraudReport(models.Model):
    """The end user said a sign-in request was not theirs."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sim_frauds")
    push = models.ForeignKey(Push, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Fraud report {self.public_id}"
