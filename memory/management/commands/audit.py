"""`manage.py audit verify`: is the audit trail complete and untouched? `audit seal`: seal now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory.audit import AuditTampered, chain_verify, seal_write


class Command(BaseCommand):
    help = (
        "verify: check the audit trail (every entry's hashes and link, each shard against its "
        "head, the seals and their anchor outside the database); seal: seal and export it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seal":
            try:
                seal = seal_write()
            except AuditTampered as error:
                raise CommandError(f"not sealed: {error}; run `audit verify`") from error
            self.stdout.write(str(seal) if seal else "nothing new since the last seal")
            return
        report = chain_verify()
        self.stdout.write(f"gate counter:      {report.counted} chained entries written")
        self.stdout.write(f"entries found:     {report.found}")
        self.stdout.write(
            f"completeness:      {report.complete_percent}% ({report.missing} missing)"
        )
        sealed = f"{report.sealed} entries, {report.anchored_at}" if report.anchored_at else "never"
        self.stdout.write(f"last seal:         {sealed}")
        for actor, count in report.per_actor.items():
            self.stdout.write(f"  {actor or '(none)'}: {count}")
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(str(problem)))
        if not report.ok:
            raise CommandError(f"audit trail NOT intact: {len(report.problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("audit trail intact: chain verified, none missing"))
