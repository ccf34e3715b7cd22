"""`manage.py retention [--dry-run]`: purge messages past their channel's retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from memory.gdpr import messages_retention_apply


class Command(BaseCommand):
    help = "Purge the words of messages older than RETENTION_DAYS per channel."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would go.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = messages_retention_apply(dry_run=options["dry_run"])
        verb = "would purge" if report.dry_run else "purged"
        if not report.per_channel:
            self.stdout.write("no retention configured (RETENTION_DAYS_<CHANNEL>)")
        for channel, row in report.per_channel.items():
            self.stdout.write(
                f"{channel}: keep {row['days']} days (before {row['cutoff']}): {verb} "
                f"{row['messages']} message(s) of {row['customers']} customer(s)"
            )
        self.stdout.write(f"total: {verb} {report.total} message(s)")
