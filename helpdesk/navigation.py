"""The navigation each role sees, built from the capability table.

Apps add their sections here as they grow; an entry shows only when the staff member has
its capability and its URL exists.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from helpdesk.models import Staff
from helpdesk.roles import Capability


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability | None
    description: str
    # Administration pages visited now and then: grouped under one "Admin" disclosure, so an
    # administrator's navigation stays on one row (1366 px wide).
    grouped: bool = False


NAV_ITEMS: list[NavItem] = [
    NavItem("Home", "helpdesk:home", None, "Your overview."),
    NavItem(
        "Tickets",
        "helpdesk:ticket-queue",
        Capability.VIEW_TICKETS,
        "Your queue, the unassigned tickets and everything open.",
    ),
    NavItem(
        "End users",
        "enrollment:end-user-list",
        Capability.VIEW_TICKETS,
        "Find an end user: status, devices, sign-ins, bypass codes and tickets.",
    ),
    NavItem(
        "Audit review",
        "helpdesk:audit-review",
        Capability.REVIEW_AUDIT,
        "The tamper-evident ticket trail: filter, export, verify.",
    ),
    NavItem(
        "Dashboard",
        "helpdesk:dashboard",
        Capability.VIEW_DASHBOARD,
        "Outcome metrics and where guided sessions stop, by team, complaint and playbook.",
    ),
    NavItem(
        "Knowledge base",
        "kb:list",
        None,
        "Articles for Level 1: symptoms, what to check, what to tell the caller.",
    ),
    NavItem(
        "Device simulator",
        "authsim:device-list",
        Capability.VIEW_TICKETS,
        "The simulated end users' phones, tokens and mailboxes: what the caller sees.",
    ),
    NavItem(
        "Approvals",
        "enrollment:approval-queue",
        Capability.APPROVE_SENSITIVE,
        "Requests for a second person: a caller's identity, sensitive recovery actions.",
    ),
    NavItem(
        "Policies",
        "enrollment:policy-list",
        Capability.CONFIGURE_POLICY,
        "MFA policies for everyone, each application and each group, with their cost.",
    ),
    NavItem(
        "Policy explorer",
        "enrollment:policy-explain",
        Capability.MANAGE_END_USERS,
        "What applies to one end user signing in, and which policy says so.",
    ),
    NavItem(
        "Playbooks",
        "troubleshooting:playbook-list",
        Capability.REVIEW_AUDIT,  # the readers; publishing itself needs PUBLISH_PLAYBOOKS
        "Troubleshooting playbooks: versions, linter findings, diffs and graphs; publish.",
    ),
    NavItem(
        "Pending enrollment",
        "enrollment:bulk-pending",
        Capability.BULK_ENROLLMENT,
        "End users who have not finished enrolling: remind them or restart, in bulk.",
        grouped=True,
    ),
    NavItem(
        "Staff",
        "helpdesk:staff-list",
        Capability.MANAGE_STAFF,
        "Staff accounts, their roles and administrative units.",
        grouped=True,
    ),
    NavItem(
        "Administration",
        "admin:index",
        Capability.DJANGO_ADMIN,
        "Low-level access to every record, for owners and administrators.",
        grouped=True,
    ),
]


def nav_for(staff: Staff) -> list[dict[str, str]]:
    items = []
    for item in NAV_ITEMS:
        if item.capability is not None and not staff.has_capability(item.capability):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "name": item.url_name,
                "label": item.label,
                "url": url,
                "description": item.description,
                "grouped": item.grouped,
            }
        )
    return items
