"""Measures `manage.py verify_audit`: events per second and the peak memory of the process.

    .venv/bin/python bench/verify_audit.py --database-url postgres://…/helpdesk_bench [--runs 3]

Runs the command (`--no-record`, so the database is left as it was) in a child process once
per run, with the environment of this shell plus DATABASE_URL, and prints one Markdown row per
run: events, chains, seconds, events/s and the child's peak resident memory (ru_maxrss). The
database must have been loaded with the same AUDIT_HMAC_KEY (seed_load under DJANGO_DEBUG uses
the demo key, and so does this script unless AUDIT_HMAC_KEY is set).
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTACT = re.compile(r"Audit trail intact: (\d+) events in (\d+) chains verified\.")


def run_once(env: dict[str, str]) -> tuple[int, int, float, float]:
    """(events, chains, seconds, peak RSS in MB) of one verify_audit run in a fresh child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit", "--no-record"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    match = INTACT.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"verify_audit failed:\n{result.stdout}{result.stderr}")
    # ru_maxrss is the largest child so far (kB on Linux): each run must be the largest yet
    # or equal, so report the maximum seen, which is this run's when runs are alike.
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return int(match[1]), int(match[2]), seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url}
    env.setdefault("DJANGO_DEBUG", "1")
    print("| run | events | chains | seconds | events/s | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for number in range(1, args.runs + 1):
        events, chains, seconds, peak = run_once(env)
        print(
            f"| {number} | {events:,} | {chains:,} | {seconds:.1f} | "
            f"{events / seconds:,.0f} | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
