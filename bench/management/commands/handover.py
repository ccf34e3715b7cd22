"""`manage.py handover`: replay channel-switch journeys through the webhooks in a scratch
database and count re-delegation (the party that should answer after a switch did, N of M);
measure the escalation model on its held-out set and read public airline tweets with it.

    manage.py handover
    manage.py handover --json handover.json --keep-database
    manage.py handover --escalation-only
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.handover import handover_run
from bench.perf.database import BenchDatabaseError, bench_database


class Command(BaseCommand):
    help = "Count re-delegation after channel switches and measure the escalation model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", type=Path, help="also write the figures to this file")
        parser.add_argument(
            "--escalation-only", action="store_true", help="skip the journeys (no database)"
        )
        parser.add_argument(
            "--database-url", help="an empty PostgreSQL database to use (kept) instead"
        )
        parser.add_argument(
            "--keep-database", action="store_true", help="keep the scratch database afterwards"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["escalation_only"]:
            report = handover_run(progress=self._progress, journeys=False)
        else:
            try:
                with bench_database(
                    url=options.get("database_url"),
                    keep=options["keep_database"],
                    progress=self._progress,
                ):
                    report = handover_run(progress=self._progress)
            except BenchDatabaseError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(report.table())
        if options.get("json"):
            options["json"].write_text(json.dumps(report.figures(), indent=2) + "\n")
            self.stdout.write(self.style.SUCCESS(f"figures written to {options['json']}"))

    def _progress(self, line: str) -> None:
        self.stderr.write(line)
        self.stderr.flush()
