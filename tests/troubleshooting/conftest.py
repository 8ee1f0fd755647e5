"""The scenario-corpus summary: test_corpus.py records one row per case, and the end of the
run prints cases, correct cases and median steps per root cause."""

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
