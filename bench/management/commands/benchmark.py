"""`manage.py benchmark <what>`: seed a graph of a chosen size in a scratch PostgreSQL database
and measure the gate (against an indexed baseline), the pipeline and the SMS webhook under load.

    manage.py benchmark all --scale medium --json bench.json --chart bench.png
    manage.py benchmark gate --customers 1000 10000
    manage.py benchmark seed --customers 100000 --keep-database
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.perf.database import BenchDatabaseError
from bench.perf.processes import ProcessFailed
from bench.perf.report import chart_write, report_table
from bench.perf.run import PHASES, SCALES, BenchmarkRun, phases_for, plan_from

WHAT = {
    "seed": "only seed the graph (with --keep-database or --database-url to keep it)",
    "gate": "context_read + 150-word render against an indexed baseline, at each scale",
    "pipeline": "messages per second through the pipeline, inline and on a Celery worker",
    "load": "webhook ack under open-loop load, and inbound SMS to reply queued",
    "all": "every phase, in that order",
}


class Command(BaseCommand):
    help = "Seed a graph of a chosen size and measure Rapport on it (see the README)."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
        for name, description in WHAT.items():
            self._options(subparsers.add_parser(name, help=description, description=description))

    def _options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", choices=sorted(SCALES), default="small", help="a preset (default small)"
        )
        parser.add_argument(
            "--customers",
            type=int,
            nargs="+",
            help="the scales to seed and measure, e.g. 1000 10000 100000",
        )
        parser.add_argument("--samples", type=int, help="gate reads per scale")
        parser.add_argument("--messages", type=int, help="messages per pipeline run")
        parser.add_argument("--rates", type=float, nargs="+", help="webhooks per second")
        parser.add_argument("--load-seconds", type=float, help="seconds of load per rate")
        parser.add_argument("--reply-messages", type=int, help="SMS timed to their reply")
        parser.add_argument("--reply-rate", type=float, help="their rate, below capacity")
        parser.add_argument("--concurrency", type=int, help="Celery worker concurrency")
        parser.add_argument("--budget", type=int, help="context word budget (default 150)")
        parser.add_argument("--seed", type=int, help="random seed of the seeded graph")
        parser.add_argument(
            "--database-url",
            help="an empty PostgreSQL database to use (kept) instead of a scratch one",
        )
        parser.add_argument(
            "--keep-database", action="store_true", help="keep the scratch database afterwards"
        )
        parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
        parser.add_argument("--chart", type=Path, help="write the PNG chart to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        phases = phases_for(options["what"])
        assert set(phases) <= set(PHASES)  # noqa: S101 - a programming error, not input
        plan = plan_from(options)
        run = BenchmarkRun(
            plan=plan,
            phases=phases,
            stream=sys.stderr,
            database_url=options.get("database_url"),
            keep_database=options["keep_database"],
        )
        # A stopped run still stops its worker and server and drops its database.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            report = run.run()
        except (BenchDatabaseError, ProcessFailed, RuntimeError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write("")
        self.stdout.write(report_table(report))
        if options.get("json"):
            options["json"].write_text(json.dumps(report, indent=2) + "\n")
            self.stdout.write(self.style.SUCCESS(f"figures written to {options['json']}"))
        chart = options.get("chart")
        if chart is None and options.get("json"):
            chart = options["json"].with_suffix(".png")
        if chart is not None and (report.get("scales") or report.get("webhook_load")):
            chart_write(report, chart)
            self.stdout.write(self.style.SUCCESS(f"chart written to {chart}"))
        if report["errors"]:
            raise CommandError("; ".join(report["errors"]))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
