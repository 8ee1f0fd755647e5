"""Walks every audit chain and says whether it is intact.

Exit status 0 when every chain verifies; 1 naming the first bad row otherwise. The result is
also recorded (AuditVerification) for the audit review page unless --no-record is given.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from helpdesk.services.audit import audit_chain_verify, audit_verification_run


class Command(BaseCommand):
    help = "Verify the hash chains of the audit trail; exit non-zero naming the first bad row."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="Do not store the result for the audit review page.",
        )

    def handle(self, *args, no_record: bool = False, **options) -> None:
        started = time.monotonic()
        if no_record:
            report = audit_chain_verify()
            ok, message = report.ok, str(report.problem) if report.problem else ""
            events, streams = report.events_checked, report.streams_checked
        else:
            result = audit_verification_run()
            ok, message = result.ok, result.message
            events, streams = result.events_checked, result.streams_checked
        if not ok:
            raise CommandError(f"Audit chain broken at {message}", returncode=1)
        self.stdout.write(f"Audit trail intact: {events} events in {streams} chains verified.")
        seconds = max(time.monotonic() - started, 1e-6)
        self.stdout.write(f"Verified in {seconds:.1f} s ({events / seconds:,.0f} events/s).")
