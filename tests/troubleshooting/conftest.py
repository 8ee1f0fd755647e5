"""The scenario-corpus summary: test_corpus.py records one row per case, and the end of the
run prints cases, correct cases and median steps per root cause.

And the corpus's database reset: a transactional test ends with Django's flush, a TRUNCATE of
every table, which on PostgreSQL costs about as much as working a case (each truncated table
gets new files). A test marked `reset_used_tables` is reset to the same state by deleting the
rows of only the tables that hold any, in one transaction, and then sending post_migrate as
flush does: every table empty, then the content types and permissions created again."""

import contextlib
from importlib import import_module

import pytest

_CORPUS_ROWS: list[dict] = []


@pytest.fixture
def corpus_results() -> list[dict]:
    """Where a corpus test records {root_cause, correct, steps} for the summary."""
    return _CORPUS_ROWS


def pytest_terminal_summary(terminalreporter):
    if not _CORPUS_ROWS:
        return
    from troubleshooting.management.commands.corpus_report import summary_table

    terminalreporter.write_sep("=", "scenario corpus per root cause")
    terminalreporter.write_line(summary_table(_CORPUS_ROWS))


# --- Resetting the database by deleting the rows that exist --------------------------------------


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "reset_used_tables: a transactional test whose teardown empties only the tables that "
        "hold rows (PostgreSQL), instead of truncating every table",
    )


_RESETTING = {"marked": False}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    # Around every finalizer of the test, pytest-django's database teardown among them.
    _RESETTING["marked"] = item.get_closest_marker("reset_used_tables") is not None
    try:
        yield
    finally:
        _RESETTING["marked"] = False


def _install_used_tables_reset() -> None:
    from django.test.testcases import TransactionTestCase

    flush_teardown = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        if not (
            _RESETTING["marked"] and self.available_apps is None and not self.serialized_rollback
        ):
            return flush_teardown(self)
        for db_name in self._databases_names(include_mirrors=False):
            empty_used_tables(db_name)

    TransactionTestCase._fixture_teardown = _fixture_teardown


def empty_used_tables(db_name: str = "default") -> list[str]:
    """What `flush` leaves, reached by deleting rows: on PostgreSQL, the tables that hold any
    rows are emptied with DELETE in one transaction (foreign keys are checked at its end, and
    pgtrigger's append-only and no-delete triggers are ignored, as for the TRUNCATE), then
    post_migrate is sent. Sequences are left as they are, as the test flush leaves them.
    Elsewhere it runs flush itself. Returns the tables emptied."""
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections, transaction

    connection = connections[db_name]
    if connection.vendor != "postgresql":
        call_command(
            "flush", verbosity=0, interactive=False, database=db_name, reset_sequences=False
        )
        return []
    import pgtrigger

    for app_config in apps.get_app_configs():
        # As flush does: each app's management module registers its post_migrate handlers.
        with contextlib.suppress(ImportError):
            import_module(".management", app_config.name)
    quote = connection.ops.quote_name
    tables = sorted(
        connection.introspection.django_table_names(only_existing=True, include_views=False)
    )
    # Table names come from the schema's introspection, not from input.
    exists = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608
        for table in tables
    )
    with (
        pgtrigger.ignore(databases=[db_name]),
        transaction.atomic(using=db_name),
        connection.cursor() as cursor,
    ):
        cursor.execute(exists, tables)
        used = [row[0] for row in cursor.fetchall()]
        for table in used:
            cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
    emit_post_migrate_signal(0, False, db_name)
    return used


_install_used_tables_reset()
