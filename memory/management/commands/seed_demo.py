"""`manage.py seed_demo`: demo customers and a supervisor login; running it twice adds nothing.

The well-known demo password is only for a DEBUG laptop demo: anywhere else the login gets a
random password, printed once, unless one is given explicitly.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from memory.demo import DEMO_SUPERVISOR_PASSWORD, demo_seed, demo_supervisor_ensure


class Command(BaseCommand):
    help = "Load demo customers with SMS, voice and e-mail history, and a demo supervisor login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("DEMO_SUPERVISOR", "supervisor"))
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_SUPERVISOR_PASSWORD", ""),
            help="Only used when the login is created. Default: the demo password with DEBUG "
            "on, else a random one printed once.",
        )

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        self.stdout.write("Seeding demo customers...")
        report = demo_seed(progress=self.stdout.write)
        self.stdout.write(
            f"{report.customers} demo customers; added {report.messages_added} messages"
            f" and {report.facts_added} facts."
        )
        if not password:
            password = DEMO_SUPERVISOR_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
        user, created = demo_supervisor_ensure(username=username, password=password)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Supervisor login: {user.username} / {password}"))
            if password != DEMO_SUPERVISOR_PASSWORD:
                self.stdout.write("Keep this password: it is not shown again.")
        else:
            self.stdout.write(f"Supervisor login: {user.username} (password unchanged)")
