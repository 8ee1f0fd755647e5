"""Two database roles: the owner runs migrations, the app runs as a role that cannot rewrite
the audit trail.

The role that owns a table can drop its triggers, disable them or alter the table, so an app
connected as the owner could lift the append-only triggers and edit events. In production the
migrations run as the owner (the compose ``migrate`` service, with MIGRATION_DATABASE_URL) and
the web, worker and beat processes connect as DATABASE_APP_ROLE, which after every migrate gets:

- SELECT, INSERT, UPDATE, DELETE on every table but the two below, and USAGE on the sequences;
- SELECT and INSERT only on the event table (helpdesk_ticketevent): no UPDATE, DELETE or
  TRUNCATE, and, not being the owner, no ALTER TABLE or DISABLE TRIGGER;
- SELECT only on helpdesk_audithashcutover (where unkeyed hashes end).

``grant_app_role`` runs on post_migrate (so the test database pytest creates gets the same
grants as production) and does nothing on SQLite or when no role is named.
"""

import logging

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

APPEND_ONLY_TABLES = ("helpdesk_ticketevent",)
READ_ONLY_TABLES = ("helpdesk_audithashcutover",)


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def grant_app_role(*, using: str = "default", role: str | None = None) -> bool:
    """Grants the runtime role its privileges on every table now in the schema. Returns
    whether grants were made (False on SQLite, without a role, or when the role does not exist
    on the server, which is logged)."""
    role = role if role is not None else settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            logger.warning("DATABASE_APP_ROLE %s does not exist; no grants made", role)
            return False
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            return False  # connected as the app role itself: nothing it may grant
        who = _quote(connection, role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {who}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}")
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
                f"ON {_quote(connection, table)} FROM {who}"
            )
        for table in READ_ONLY_TABLES:
            cursor.execute(
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
                f"ON {_quote(connection, table)} FROM {who}"
            )
    return True


def grant_after_migrate(sender, *, using: str = "default", **kwargs) -> None:
    """post_migrate receiver (connected once, for the helpdesk app)."""
    grant_app_role(using=using)
