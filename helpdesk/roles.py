"""Staff roles and what each may do: the one table the whole app consults.

Modelled on the vendor's administrator-roles matrix (owner, administrator, user manager,
help desk, read-only), with a supervisor role added for second-person approvals and audit
review. Application-manager and billing roles have no counterpart here: applications are
part of policy configuration, and the helpdesk has no billing.
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMINISTRATOR = "administrator", "Administrator"
    USER_MANAGER = "user_manager", "User manager (L2)"
    HELPDESK = "helpdesk", "Helpdesk technician (L1)"
    SUPERVISOR = "supervisor", "Supervisor"
    READ_ONLY = "read_only", "Auditor (read-only)"


class Capability(StrEnum):
    VIEW_TICKETS = "view_tickets"  # read tickets, the directory and the auth log
    WORK_TICKETS = "work_tickets"  # open tickets, comment, run guided sessions
    RECOVERY_ACTIONS = "recovery_actions"  # bypass codes, resets, re-enrollment, devices
    # Act as the caller on the device simulator: answer pushes, read its codes, inboxes and
    # enrollment keys, do what the caller is asked. Never a read-only or reviewing role's.
    OPERATE_DEVICES = "operate_devices"
    TAKE_ESCALATIONS = "take_escalations"  # tier-2 queue
    MANAGE_END_USERS = "manage_end_users"  # end users, groups, devices in the directory
    BULK_ENROLLMENT = "bulk_enrollment"  # reminders and resets for many pending end users
    APPROVE_SENSITIVE = "approve_sensitive"  # second approver, identity approvals
    REVIEW_AUDIT = "review_audit"  # audit trail review and export, metrics
    VIEW_DASHBOARD = "view_dashboard"  # outcome metrics and playbook analytics
    CONFIGURE_POLICY = "configure_policy"  # policies, applications, global settings
    PUBLISH_PLAYBOOKS = "publish_playbooks"  # publish and retire versions (REVIEW_AUDIT reads)
    MANAGE_STAFF = "manage_staff"  # create staff below administrator, bind units
    MANAGE_ADMINISTRATORS = "manage_administrators"  # create and change administrators
    DJANGO_ADMIN = "django_admin"


_ALL = frozenset(Capability)

CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: _ALL,
    Role.ADMINISTRATOR: _ALL - {Capability.MANAGE_ADMINISTRATORS, Capability.APPROVE_SENSITIVE},
    Role.USER_MANAGER: frozenset(
        {
            Capability.VIEW_TICKETS,
            Capability.WORK_TICKETS,
            Capability.RECOVERY_ACTIONS,
            Capability.OPERATE_DEVICES,
            Capability.TAKE_ESCALATIONS,
            Capability.MANAGE_END_USERS,
            Capability.BULK_ENROLLMENT,
        }
    ),
    Role.HELPDESK: frozenset(
        {
            Capability.VIEW_TICKETS,
            Capability.WORK_TICKETS,
            Capability.RECOVERY_ACTIONS,
            Capability.OPERATE_DEVICES,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            Capability.VIEW_TICKETS,
            Capability.APPROVE_SENSITIVE,
            Capability.REVIEW_AUDIT,
            Capability.VIEW_DASHBOARD,
        }
    ),
    Role.READ_ONLY: frozenset({Capability.VIEW_TICKETS, Capability.REVIEW_AUDIT}),
}

# Roles ordered from most to least powerful, used to refuse raising anyone above oneself.
RANK: dict[str, int] = {
    Role.OWNER: 0,
    Role.ADMINISTRATOR: 1,
    Role.SUPERVISOR: 2,
    Role.USER_MANAGER: 3,
    Role.HELPDESK: 4,
    Role.READ_ONLY: 5,
}


def capabilities_of(role: str) -> frozenset[Capability]:
    return CAPABILITIES.get(role, frozenset())
