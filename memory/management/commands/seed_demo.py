"""`manage.py seed_demo`: demo customers and a supervisor login; running it twice adds nothing."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from memory.demo import demo_seed, demo_supervisor_ensure


class Command(BaseCommand):
    help = "Load demo customers with SMS, voice and e-mail history, and a demo supervisor login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("DEMO_SUPERVISOR", "supervisor"))
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_SUPERVISOR_PASSWORD", "rapport-demo"),
            help="Only used when the login is created.",
        )

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        self.stdout.write("Seeding demo customers...")
        report = demo_seed(progress=self.stdout.write)
        self.stdout.write(
            f"{report.customers} demo customers; added {report.messages_added} messages"
            f" and {report.facts_added} facts."
        )
        user, created = demo_supervisor_ensure(username=username, password=password)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Supervisor login: {user.username} / {password}"))
        else:
            self.stdout.write(f"Supervisor login: {user.username} (password unchanged)")
