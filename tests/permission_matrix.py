"""The role-by-URL permission matrix: every URL the app serves, who may use it, and what
using it does.

Each app lists its URLs in `tests/<app>/url_matrix.py` as `ENTRIES`. The test in
`tests/test_permission_matrix.py` walks the URL configuration and fails for any URL that
has no entry, then checks every entry for every role:

- anonymous -> redirected to the login page (unless the URL is public);
- a role without the capability -> 403;
- a role with it -> the effect (`ok_status`, and `check` when given);
- for URLs about an end user (`scoped=True`): staff of an allowed role bound to another
  administrative unit -> 404.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from helpdesk.models import Staff
from helpdesk.roles import Role

PUBLIC = "public"
ANY_STAFF = "any_staff"
ALL_ROLES = frozenset(Role.values)


def roles(*names: str) -> frozenset[str]:
    unknown = set(names) - ALL_ROLES
    assert not unknown, f"unknown roles in matrix: {unknown}"
    return frozenset(names)


@dataclass(frozen=True)
class Entry:
    url_name: str
    allowed: frozenset[str] | str
    method: str = "get"
    # Build the URL's kwargs / the POST body from the test world.
    kwargs: Callable[["World"], dict] | None = None
    data: Callable[["World"], dict] | None = None
    ok_status: tuple[int, ...] = (200,)
    scoped: bool = False
    # Extra assertions on the allowed response: check(response, world, staff).
    check: Callable[..., None] | None = None
    # A distinguishing label when one URL has several entries (e.g. GET and POST).
    label: str = ""
    # URL patterns this entry stands for besides its own name (namespaces like admin:*).
    covers: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url_name}{' ' + self.label if self.label else ''}"

    def allows(self, role: str) -> bool:
        if self.allowed in (PUBLIC, ANY_STAFF):
            return True
        return role in self.allowed


class World:
    """Objects the matrix entries refer to, built lazily on first use.

    Apps add properties here for the objects their URLs take (an end user in scope, a
    ticket, a device …). `unit` is the administrative unit the personas belong to;
    `other_unit` is the one the outsider belongs to.
    """

    def __init__(self, personas: dict[str, Staff]):
        self.personas = personas

    @cached_property
    def in_scope_group(self):
        from tests.factories import GroupFactory

        return GroupFactory(name="Matrix in-scope group")

    @cached_property
    def out_of_scope_group(self):
        from tests.factories import GroupFactory

        return GroupFactory(name="Matrix other group")

    # --- Tickets (helpdesk) ---------------------------------------------------------------------

    @cached_property
    def ticket_end_user(self):
        from tests.factories import EndUserFactory

        return EndUserFactory(username="matrix.caller", groups=[self.in_scope_group])

    @cached_property
    def ticket(self):
        """A new ticket about an in-scope end user, opened by the owner persona."""
        from helpdesk.enums import Category, Channel
        from helpdesk.services.tickets import ticket_open

        return ticket_open(
            actor=self.personas[Role.OWNER],
            end_user=self.ticket_end_user,
            subject="Matrix ticket",
            category=Category.MISSING_PROMPT,
            channel=Channel.PHONE,
        )

    # --- Identity verification and approvals (enrollment) ---------------------------------------

    @cached_property
    def identity_verification(self):
        """A pending verification push on the matrix ticket (not yet sent to the service)."""
        from enrollment.models import IdentityVerification

        return IdentityVerification.objects.create(
            ticket=self.ticket,
            end_user=self.ticket_end_user,
            method="push",
            requested_by=self.personas[Role.HELPDESK],
        )

    @cached_property
    def approval_request(self):
        """A pending identity approval on the matrix ticket, requested by the technician."""
        from enrollment.models import ApprovalRequest

        return ApprovalRequest.objects.create(
            ticket=self.ticket,
            end_user=self.ticket_end_user,
            kind="identity",
            requested_by=self.personas[Role.HELPDESK],
            reason="Matrix: caller has no phone",
        )

    # --- Guided sessions (troubleshooting) ------------------------------------------------------

    @cached_property
    def guided_session(self):
        """A guided session on the matrix ticket, started by the owner on the shipped
        missing-prompt playbook (published here)."""
        from troubleshooting.services import playbook_sync_from_files
        from troubleshooting.sessions import session_start

        playbook_sync_from_files()
        return session_start(actor=self.personas[Role.OWNER], ticket=self.ticket)
