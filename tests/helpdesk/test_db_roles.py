"""The runtime database role cannot rewrite the audit trail: connected as DATABASE_APP_ROLE
(the grants made by helpdesk.db_roles after migrate, here on the test database pytest
created), UPDATE, DELETE, TRUNCATE, ALTER TABLE, DISABLE TRIGGER and DROP TRIGGER on the event
table all fail, while INSERT and SELECT work and the other tables stay writable.

CI creates the role (.ci/run) and sets DATABASE_APP_ROLE / DATABASE_APP_PASSWORD; without them
these tests skip with the reason (a failure under REQUIRE_ALL_TESTS=1)."""

import os

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from helpdesk.db_roles import grant_app_role
from tests.helpdesk.ticket_helpers import end_user_in_unit_of, open_ticket

ROLE = settings.DATABASE_APP_ROLE
PASSWORD = os.environ.get("DATABASE_APP_PASSWORD", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.USING_POSTGRES, reason="database roles need PostgreSQL"),
    pytest.mark.skipif(
        not (ROLE and PASSWORD),
        reason="DATABASE_APP_ROLE and DATABASE_APP_PASSWORD name no runtime role (.ci/run)",
    ),
]


@pytest.fixture
def app_role(transactional_db, technician):
    """A committed ticket with events, and a connection to the test database as the app role."""
    open_ticket(technician, end_user_in_unit_of(technician))
    params = connection.get_connection_params()
    conn = psycopg.connect(
        host=params.get("host") or "127.0.0.1",
        port=params.get("port") or 5432,
        dbname=connection.settings_dict["NAME"],
        user=ROLE,
        password=PASSWORD,
        autocommit=True,
    )
    conn.execute("SET lock_timeout = '5s'")
    yield conn
    conn.close()


REFUSED = [
    ("UPDATE helpdesk_ticketevent SET kind = 'x'", "permission denied for table"),
    ("DELETE FROM helpdesk_ticketevent", "permission denied for table"),
    ("TRUNCATE helpdesk_ticketevent", "permission denied for table"),
    ("ALTER TABLE helpdesk_ticketevent DISABLE TRIGGER ALL", "must be owner of table"),
    ("ALTER TABLE helpdesk_ticketevent ADD COLUMN forged text", "must be owner of table"),
    (
        "DROP TRIGGER pgtrigger_append_only_update_e2c8f ON helpdesk_ticketevent",
        "must be owner of",
    ),
    ("UPDATE helpdesk_audithashcutover SET last_legacy_event_id = 1000000", "permission denied"),
    ("INSERT INTO helpdesk_audithashcutover (last_legacy_event_id, recorded_at) "
     "VALUES (1000000, now())", "permission denied"),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "error"), REFUSED)
def test_the_app_role_cannot_rewrite_the_trail(app_role, statement, error):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=error):
        app_role.execute(statement)


def test_the_app_role_may_append_and_read_events(app_role):
    with app_role.transaction(force_rollback=True):
        app_role.execute(
            "INSERT INTO helpdesk_ticketevent (stream, seq, kind, occurred_at, payload, "
            "prev_hash, hash) VALUES ('probe', 1, 'probe', now(), '{}', %s, %s)",
            ["0" * 64, "0" * 64],
        )
        count = app_role.execute("SELECT count(*) FROM helpdesk_ticketevent").fetchone()[0]
    assert count == 2  # the ticket's opening event and the probe


def test_the_app_role_still_writes_the_other_tables(app_role):
    with app_role.transaction(force_rollback=True):
        updated = app_role.execute("UPDATE helpdesk_ticket SET subject = 'Renamed'").rowcount
    assert updated == 1


def test_grants_are_idempotent_and_refuse_an_unknown_role(db):
    assert grant_app_role() is True
    assert grant_app_role() is True
    assert grant_app_role(role="helpdesk_no_such_role") is False
