"""`manage.py seed_demo`: demo customers, a supervisor login and two agents online; the seeded
messages still waiting for an answer go through the pipeline. Running it twice adds nothing.

It lives beside the simulator rather than in `memory` because the demo is the whole product:
the history is written through memory's services, the waiting messages are decided by the
orchestrator, and the agents' presence is the orchestrator's too. The well-known demo password
is only for a DEBUG laptop demo: anywhere else the login gets a random password, printed once,
unless one is given explicitly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from memory.demo import (
    DEMO_SUPERVISOR_PASSWORD,
    demo_agents_ensure,
    demo_messages_awaiting,
    demo_seed,
    demo_supervisor_ensure,
)
from orchestrator.models import AgentPresence
from orchestrator.people.queue import presence_set
from orchestrator.tasks import message_process_inbound

# How many conversations each demo agent holds at most: a few, so the queue keeps some waiting.
DEMO_AGENT_CAPACITY = 3


class Command(BaseCommand):
    help = (
        "Load demo customers with SMS, voice and e-mail history, a demo supervisor login and "
        "two agents online; the seeded messages still waiting are handed to the pipeline."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("DEMO_SUPERVISOR", "supervisor"))
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_SUPERVISOR_PASSWORD", ""),
            help="Only used when the login is created. Default: the demo password with DEBUG "
            "on, else a random one printed once.",
        )
        parser.add_argument(
            "--login-file",
            type=Path,
            default=None,
            help="Also write the login line here (private to this user), for `make run` to "
            "print once the server is up.",
        )

    def handle(
        self, *args: Any, username: str, password: str, login_file: Path | None, **options: Any
    ) -> None:
        self.stdout.write("Seeding demo customers...")
        report = demo_seed(progress=self.stdout.write)
        self.stdout.write(
            f"{report.customers} demo customers; added {report.messages_added} messages"
            f" and {report.facts_added} facts."
        )
        if not password:
            password = DEMO_SUPERVISOR_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
        user, created = demo_supervisor_ensure(username=username, password=password)

        agents = demo_agents_ensure(password=DEMO_SUPERVISOR_PASSWORD if settings.DEBUG else None)
        for agent in agents:
            presence_set(
                user=agent, status=AgentPresence.Status.ONLINE, capacity=DEMO_AGENT_CAPACITY
            )
        presence_set(user=user, status=AgentPresence.Status.ONLINE)
        self.stdout.write(
            f"Online: {', '.join(a.get_username() for a in agents)} (agents) and {user}."
        )

        waiting = demo_messages_awaiting()
        self.stdout.write(f"Handing {len(waiting)} waiting message(s) to the pipeline...")
        for message_id in waiting:
            # Once per message: a message that already has its run is left as it is.
            message_process_inbound.delay(message_id)

        if created:
            line = f"Supervisor login: {user.username} / {password}"
            self.stdout.write(self.style.SUCCESS(line))
            if password != DEMO_SUPERVISOR_PASSWORD:
                self.stdout.write("Keep this password: it is not shown again.")
        elif settings.DEBUG and user.check_password(DEMO_SUPERVISOR_PASSWORD):
            # The well-known laptop password, still in use: saying it again gives nothing away.
            line = f"Supervisor login: {user.username} / {DEMO_SUPERVISOR_PASSWORD}"
            self.stdout.write(line)
        else:
            line = f"Supervisor login: {user.username} (password unchanged)"
            self.stdout.write(line)
        if login_file is not None:
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.touch(mode=0o600)
            login_file.write_text(line + "\n", encoding="utf-8")
