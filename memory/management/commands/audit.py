"""`manage.py audit verify`: is the audit trail complete and untouched?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory.audit import chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail: the gate's counter against the entries, and the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify()
        self.stdout.write(f"gate counter:      {report.counted} chained entries written")
        self.stdout.write(f"entries found:     {report.found}")
        self.stdout.write(
            f"completeness:      {report.complete_percent}% ({report.missing} missing)"
        )
        if report.unchained_access:
            self.stdout.write(f"before the chain:  {report.unchained_access} access entries")
        for actor, count in report.per_actor.items():
            self.stdout.write(f"  {actor or '(none)'}: {count}")
        for problem in report.problems:
            where = f"entry #{problem.entry_id}" if problem.entry_id else "entry"
            self.stdout.write(self.style.ERROR(f"seq {problem.seq}: {where} {problem.problem}"))
        if not report.ok:
            raise CommandError(f"audit trail NOT intact: {len(report.problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("audit trail intact: chain verified, none missing"))
