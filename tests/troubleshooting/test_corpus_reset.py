"""The corpus's database reset (conftest.empty_used_tables) leaves what Django's flush leaves:
after a worked case (tickets, the append-only trail, immutable playbook versions), every table
is empty but the content types and permissions post_migrate creates, row for row as after a
flush."""

from io import StringIO

import pgtrigger
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from authsim.scenarios import SCENARIO_DIR
from tests.troubleshooting.conftest import empty_used_tables

pytestmark = [
    pytest.mark.skipif(not settings.USING_POSTGRES, reason="the reset deletes on PostgreSQL"),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

RECREATED = {"django_content_type", "auth_permission"}


def rows_per_table() -> dict[str, int]:
    quote = connection.ops.quote_name
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"SELECT count(*) FROM {quote(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def test_emptying_the_used_tables_leaves_what_a_flush_leaves():
    call_command("simulate_case", str(SCENARIO_DIR / "user-disabled.yaml"), stdout=StringIO())
    written = {table for table, n in rows_per_table().items() if n}

    emptied = empty_used_tables()
    after_reset = rows_per_table()
    with pgtrigger.ignore():
        call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    after_flush = rows_per_table()

    assert {"helpdesk_ticketevent", "troubleshooting_playbookversion"} <= written
    assert set(emptied) == written
    assert {table for table, n in after_reset.items() if n} == RECREATED
    assert after_reset == after_flush
