"""The directory the helpdesk serves: end users, groups, applications, policies, devices,
authenticators, enrollments, enrollment and activation links, bypass codes.

Only what a real MFA service knows lives here. Device-side truth (notifications switched off,
a phone clock running late, a stale push token) belongs to the simulator (authsim) and reaches
the helpdesk only through the port in enrollment/mfa.py. Timestamps default to the simulated
clock (enrollment.clock) so expiries can be reached by advancing it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from enrollment import clock, conf
from enrollment.enums import (
    ApprovalKind,
    ApprovalStatus,
    AuthenticatorStatus,
    BulkAction,
    BulkItemState,
    BulkJobState,
    Enforcement,
    EnrollmentError,
    EnrollmentStage,
    Method,
    Platform,
    PolicyScope,
    UserStatus,
    VerificationMethod,
    VerificationStatus,
)
from enrollment.fields import ClockUpdatedAtField


def _enroll_by_default() -> datetime:
    return clock.now() + conf.enrollment_link_lifetime()


def _activation_expiry_default() -> datetime:
    return clock.now() + conf.activation_link_lifetime()


class Group(models.Model):
    """A directory group of end users (Sales, Contractors, Admins …).

    Administrative units scope staff to sets of groups. Members of a privileged group count
    as privileged end users (recovery actions on them need a second approver).
    """

    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=300, blank=True)
    privileged = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Application(models.Model):
    """Something end users sign in to (VPN, Mail …); policies can target one."""

    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EndUser(models.Model):
    """A person whose MFA the helpdesk fixes. End users never sign in to the helpdesk.

    Contact attributes are stored exactly as the directory holds them, malformed or not: a
    mobile number without a country code is a fault for a check to find, not an input error.
    """

    username = models.CharField(max_length=150, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    mobile = models.CharField(max_length=64, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=32, choices=UserStatus.choices, default=UserStatus.ACTIVE, db_index=True
    )
    privileged = models.BooleanField(default=False)
    groups = models.ManyToManyField(Group, related_name="end_users", blank=True)
    # The MFA service's own identifier when the directory is imported from it (privacyIDEA:
    # "username@realm"); NULL for end users the helpdesk's directory owns (the simulator).
    service_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = ClockUpdatedAtField()

    class Meta:
        ordering = ["username"]
        verbose_name = "end user"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=UserStatus.values), name="enduser_status_valid"
            ),
            models.CheckConstraint(condition=~Q(username=""), name="enduser_username_not_blank"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_privileged(self) -> bool:
        """Flagged privileged, or a member of a privileged group.

        Reads `groups.all()`, so prefetch groups when asking this of many users."""
        return self.privileged or any(group.privileged for group in self.groups.all())


class Policy(models.Model):
    """MFA settings for everyone (global), one application, or one group.

    Every setting column is nullable: NULL means "inherit from the less specific scope"
    (see enrollment.policy.effective_policy). Two settings need a value that differs from
    "inherit" but means "nothing":

    - max_invalid_attempts: "no limit" is stored as `max_invalid_attempts_unlimited=True`
      with `max_invalid_attempts` NULL (scenario files write it as `max_invalid_attempts: null`).
    - exempt_groups / permitted_groups are many-to-many and cannot be NULL, so each has a
      flag, `sets_exempt_groups` / `sets_permitted_groups`: False = inherit, True = this
      policy's set of groups (possibly empty) is the value.

    min_app_version "" means "no minimum"; min_os_versions {} means "no minimum on any
    platform". A policy's min_os_versions replaces the inherited map as a whole.
    """

    scope = models.CharField(max_length=16, choices=PolicyScope.choices)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    # Orders group policies for a user in several groups: lower wins, then group name.
    priority = models.PositiveIntegerField(default=100)
    description = models.CharField(max_length=300, blank=True)

    mfa_enabled = models.BooleanField(null=True, blank=True)
    # NULL (inherit) must differ from any value, so these string settings are nullable.
    enforcement = models.CharField(  # noqa: DJ001
        max_length=32, choices=Enforcement.choices, null=True, blank=True
    )
    allowed_methods = models.JSONField(null=True, blank=True)  # list of Method values
    default_method = models.CharField(  # noqa: DJ001
        max_length=32, choices=Method.choices, null=True, blank=True
    )
    allow_fallback = models.BooleanField(null=True, blank=True)
    enrollment_required = models.BooleanField(null=True, blank=True)
    max_invalid_attempts = models.PositiveIntegerField(null=True, blank=True)
    max_invalid_attempts_unlimited = models.BooleanField(default=False)
    code_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    push_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    resend_limit = models.PositiveIntegerField(null=True, blank=True)
    remembered_device_days = models.PositiveIntegerField(null=True, blank=True)
    min_os_versions = models.JSONField(null=True, blank=True)  # {platform: "version"}
    min_app_version = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    sets_exempt_groups = models.BooleanField(default=False)
    exempt_groups = models.ManyToManyField(Group, related_name="exempt_by_policies", blank=True)
    sets_permitted_groups = models.BooleanField(default=False)
    permitted_groups = models.ManyToManyField(
        Group, related_name="permitted_by_policies", blank=True
    )

    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = ClockUpdatedAtField()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["scope", "priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=PolicyScope.GLOBAL, application__isnull=True, group__isnull=True)
                    | Q(
                        scope=PolicyScope.APPLICATION,
                        application__isnull=False,
                        group__isnull=True,
                    )
                    | Q(scope=PolicyScope.GROUP, application__isnull=True, group__isnull=False)
                ),
                name="policy_scope_matches_target",
            ),
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(scope=PolicyScope.GLOBAL),
                name="policy_single_global",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(application__isnull=False),
                name="policy_one_per_application",
            ),
            models.UniqueConstraint(
                fields=["group"], condition=Q(group__isnull=False), name="policy_one_per_group"
            ),
            models.CheckConstraint(
                condition=Q(enforcement__isnull=True) | Q(enforcement__in=Enforcement.values),
                name="policy_enforcement_valid",
            ),
            models.CheckConstraint(
                condition=Q(default_method__isnull=True) | Q(default_method__in=Method.values),
                name="policy_default_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_invalid_attempts_unlimited=False)
                | Q(max_invalid_attempts__isnull=True),
                name="policy_attempts_limit_or_unlimited",
            ),
            models.CheckConstraint(
                condition=Q(max_invalid_attempts__isnull=True) | Q(max_invalid_attempts__gte=1),
                name="policy_attempts_at_least_one",
            ),
        ]

    def __str__(self) -> str:
        return self.source_label

    @property
    def source_label(self) -> str:
        """How the effective policy names this policy: "global", "application:VPN",
        "group:Sales"."""
        if self.scope == PolicyScope.APPLICATION:
            return f"application:{self.application.name}"
        if self.scope == PolicyScope.GROUP:
            return f"group:{self.group.name}"
        return "global"

    def clean(self) -> None:
        """Rejects values no MFA service could act on. Whether the settings make sense
        together (a default method the policy does not allow …) is reported, not rejected."""
        errors: dict[str, str] = {}
        if self.allowed_methods is not None:
            if not isinstance(self.allowed_methods, list) or not all(
                isinstance(m, str) and m in Method.values for m in self.allowed_methods
            ):
                errors["allowed_methods"] = (
                    f"Expected a list drawn from {', '.join(Method.values)}."
                )
            elif len(set(self.allowed_methods)) != len(self.allowed_methods):
                errors["allowed_methods"] = "Each method may appear once."
        if self.min_os_versions is not None and not (
            isinstance(self.min_os_versions, dict)
            and all(
                key in Platform.values and isinstance(value, str) and value
                for key, value in self.min_os_versions.items()
            )
        ):
            errors["min_os_versions"] = (
                f"Expected a mapping of platform ({', '.join(Platform.values)}) "
                "to a version string."
            )
        if self.max_invalid_attempts_unlimited and self.max_invalid_attempts is not None:
            errors["max_invalid_attempts"] = "Set a limit or mark it unlimited, not both."
        scope_field = {PolicyScope.APPLICATION: "application", PolicyScope.GROUP: "group"}
        for scope, field in scope_field.items():
            if (self.scope == scope) != (getattr(self, f"{field}_id") is not None):
                errors[field] = f"Set this exactly when the scope is {scope}."
        if errors:
            raise ValidationError(errors)


class Device(models.Model):
    """A device as the MFA service knows it: what it reported, not what is true on it."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=150)
    platform = models.CharField(max_length=32, choices=Platform.choices)
    os_version = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    push_capable = models.BooleanField(default=False)  # the service holds a push registration
    lost_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["end_user_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__in=Platform.values), name="device_platform_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def is_lost(self) -> bool:
        return self.lost_at is not None


class Authenticator(models.Model):
    """One way an end user proves it is them. OTP secrets are held by the MFA service."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="authenticators")
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="authenticators"
    )
    method = models.CharField(max_length=32, choices=Method.choices)
    status = models.CharField(
        max_length=32,
        choices=AuthenticatorStatus.choices,
        default=AuthenticatorStatus.PENDING_ACTIVATION,
    )
    name = models.CharField(max_length=150, blank=True)
    # Hardware tokens only; NULL (not "") so the unique-among-live constraint ignores the rest.
    serial = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    failure_count = models.PositiveIntegerField(default=0)
    remaining_codes = models.PositiveIntegerField(null=True, blank=True)  # backup codes
    created_at = models.DateTimeField(default=clock.now, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["end_user_id", "created_at", "id"]
        indexes = [models.Index(fields=["end_user", "status"], name="authenticator_user_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=Method.values), name="authenticator_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AuthenticatorStatus.values),
                name="authenticator_status_valid",
            ),
            # A token can be re-issued once its old assignment is revoked, never shared live.
            models.UniqueConstraint(
                fields=["serial"],
                condition=Q(serial__isnull=False) & ~Q(status=AuthenticatorStatus.REVOKED),
                name="authenticator_serial_unique_live",
            ),
            models.CheckConstraint(
                condition=Q(remaining_codes__isnull=True) | Q(method=Method.BACKUP_CODES),
                name="authenticator_codes_only_backup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.name or self.serial or self.pk}"


class Enrollment(models.Model):
    """How far an end user got in setting up an authenticator, and the error that stopped it."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="enrollments")
    authenticator = models.ForeignKey(
        Authenticator,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrollments",
    )
    stage = models.CharField(
        max_length=32, choices=EnrollmentStage.choices, default=EnrollmentStage.INVITED
    )
    # NULL = no error, as the scenario format and the vocabulary spell it.
    error = models.CharField(  # noqa: DJ001
        max_length=32, choices=EnrollmentError.choices, null=True, blank=True
    )
    started_at = models.DateTimeField(default=clock.now)
    updated_at = ClockUpdatedAtField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["end_user_id", "-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=EnrollmentStage.values), name="enrollment_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(error__isnull=True) | Q(error__in=EnrollmentError.values),
                name="enrollment_error_valid",
            ),
            # Only a finished enrollment has a completion time.
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True)
                | Q(stage__in=[EnrollmentStage.ACTIVATED, EnrollmentStage.VERIFIED]),
                name="enrollment_completed_only_when_done",
            ),
        ]

    def __str__(self) -> str:
        suffix = f", {self.error}" if self.error else ""
        return f"{self.end_user_id}: {self.stage}{suffix}"


class EnrollmentLink(models.Model):
    """The invitation to enroll. Resending it never extends the original enroll-by date."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="enrollment_links")
    created_at = models.DateTimeField(default=clock.now)
    enroll_by = models.DateTimeField(default=_enroll_by_default)
    sent_count = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["end_user_id", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(enroll_by__gt=models.F("created_at")),
                name="enrollmentlink_enroll_by_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"Enrollment link for {self.end_user_id} (enroll by {self.enroll_by:%Y-%m-%d})"

    def is_expired(self, at: datetime | None = None) -> bool:
        return (at or clock.now()) >= self.enroll_by


class ActivationLink(models.Model):
    """Activates one authenticator. While one is unexpired no new one may be sent (the
    service that sends them enforces this and says when the current one expires)."""

    authenticator = models.ForeignKey(
        Authenticator, on_delete=models.CASCADE, related_name="activation_links"
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(default=_activation_expiry_default)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["authenticator_id", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["authenticator", "expires_at"], name="activationlink_auth_expiry")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="activationlink_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Activation link for {self.authenticator_id} "
            f"(expires {self.expires_at:%Y-%m-%d %H:%M})"
        )

    def is_expired(self, at: datetime | None = None) -> bool:
        return (at or clock.now()) >= self.expires_at


class BypassCode(models.Model):
    """A temporary bypass code. Only a salted hash is stored; the code is shown once.

    Issuing, using and revoking are services of a later issue; this is the record."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="bypass_codes")
    code_hash = models.CharField(max_length=256)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issued_bypass_codes",
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["end_user_id", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["end_user", "expires_at"], name="bypasscode_user_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="bypasscode_expires_after_created",
            ),
            models.CheckConstraint(condition=~Q(code_hash=""), name="bypasscode_hash_not_blank"),
        ]

    def __str__(self) -> str:
        return f"Bypass code for {self.end_user_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    def is_usable(self, at: datetime | None = None) -> bool:
        moment = at or clock.now()
        return self.used_at is None and self.revoked_at is None and moment < self.expires_at


class IdentityVerification(models.Model):
    """One attempt to verify a caller's identity, recorded on the ticket it was made for.

    A verified row counts for that ticket only, until `valid_until` (15 minutes by default).
    `phone_number` is the number of record the technician called back (copied so the trail
    shows which number was used even if the directory changes later).
    """

    ticket = models.ForeignKey(
        "helpdesk.Ticket", on_delete=models.PROTECT, related_name="identity_verifications"
    )
    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="identity_verifications"
    )
    method = models.CharField(max_length=16, choices=VerificationMethod.choices)
    status = models.CharField(
        max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.PENDING
    )
    result = models.CharField(max_length=32, blank=True)  # approved, denied, timed_out, attested …
    push_id = models.CharField(max_length=64, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL)
    phone_number = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["ticket", "status", "valid_until"], name="identityver_ticket"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=VerificationMethod.values),
                name="identityverification_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=VerificationStatus.values),
                name="identityverification_status_valid",
            ),
            # Only a verified row has a validity window.
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(status=VerificationStatus.VERIFIED),
                name="identityverification_valid_only_when_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for ticket {self.ticket_id}: {self.status}"

    def is_valid(self, at: datetime | None = None) -> bool:
        moment = at or clock.now()
        return (
            self.status == VerificationStatus.VERIFIED
            and self.valid_until is not None
            and moment < self.valid_until
        )


class ApprovalRequest(models.Model):
    """A request for a supervisor's decision: that the caller is who they say
    (kind=identity), or a second approval for one recovery action (kind=action, `action`
    naming the service). An approved action request is consumed (status used) by the action
    it approves, in the action's transaction."""

    ticket = models.ForeignKey(
        "helpdesk.Ticket", on_delete=models.PROTECT, related_name="approval_requests"
    )
    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="approval_requests"
    )
    kind = models.CharField(max_length=16, choices=ApprovalKind.choices)
    action = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # set on approval
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="approvalrequest_status"),
            models.Index(fields=["ticket", "kind", "action"], name="approvalrequest_ticket"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ApprovalKind.values), name="approvalrequest_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApprovalStatus.values),
                name="approvalrequest_status_valid",
            ),
            # Nobody approves their own request (the services refuse it too).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="approvalrequest_not_self_approved",
            ),
        ]

    def __str__(self) -> str:
        what = self.action or self.get_kind_display()
        return f"Approval of {what} on ticket {self.ticket_id}: {self.status}"


class ClockOffset(models.Model):
    """The single row behind enrollment.clock: how far the simulated clock runs ahead."""

    offset = models.DurationField(default=timedelta(0))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="clockoffset_single_row"),
        ]

    def __str__(self) -> str:
        return f"Clock offset {self.offset}"


class BulkJob(models.Model):
    """A reminder or reset sent to many end users pending enrollment at once.

    The targets are fixed when the job starts (one BulkJobItem each), so the count the
    administrator confirmed is the count processed. `unit_ids` are the administrative units
    the starter was bound to (empty: unrestricted); only one job at a time may run per unit.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=16, choices=BulkAction.choices)
    filters = models.JSONField(default=dict)  # the list filters, as the page describes them
    reason = models.CharField(max_length=300)
    unit_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=BulkJobState.choices, default=BulkJobState.QUEUED, db_index=True
    )
    created_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=BulkAction.values), name="bulkjob_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=BulkJobState.values), name="bulkjob_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total"))
                & Q(failed__lte=models.F("total") - models.F("done")),
                name="bulkjob_progress_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Bulk {self.action} #{self.pk} ({self.done + self.failed}/{self.total})"

    @property
    def processed(self) -> int:
        return self.done + self.failed

    @property
    def is_finished(self) -> bool:
        return self.state == BulkJobState.FINISHED


class BulkJobItem(models.Model):
    """One end user of a bulk job and what happened to them (the failure reason, if any)."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=16, choices=BulkItemState.choices, default=BulkItemState.PENDING
    )
    error = models.CharField(max_length=300, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "end_user"], name="bulkjobitem_once_per_job"),
            models.CheckConstraint(
                condition=Q(state__in=BulkItemState.values), name="bulkjobitem_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["job", "state"], name="bulkjobitem_job_state_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.end_user_id}: {self.state}"
