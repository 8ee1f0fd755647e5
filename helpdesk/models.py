from django.contrib.auth.models import AbstractUser
from django.db import models

from helpdesk.roles import Capability, Role, capabilities_of


class Staff(AbstractUser):
    """A person who signs in to the helpdesk. End users never do."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READ_ONLY)

    class Meta:
        verbose_name = "staff member"
        verbose_name_plural = "staff"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="staff_role_valid"
            ),
        ]

    def has_capability(self, capability: Capability) -> bool:
        return self.is_active and capability in capabilities_of(self.role)

    # The admin site asks for Django model permissions; owners and administrators hold them
    # all through their role, everyone else none. Finer rules live in the ModelAdmins.
    def has_perm(self, perm: str, obj=None) -> bool:
        return self.has_capability(Capability.DJANGO_ADMIN) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        return self.has_capability(Capability.DJANGO_ADMIN) or super().has_module_perms(app_label)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities_of(self.role) if self.is_active else frozenset()


class AdministrativeUnit(models.Model):
    """Binds staff to groups of end users.

    Staff bound to one or more units see and act on end users in those units' groups only;
    staff bound to none are unrestricted. Owners are never restricted.
    """

    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=300, blank=True)
    groups = models.ManyToManyField("enrollment.Group", related_name="administrative_units")
    staff = models.ManyToManyField(Staff, related_name="administrative_units", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
