"""Manage the systems allowed into the memory: `api_client create NAME --scopes ...` (prints
the token alone on its last line), `api_client list`, `api_client revoke NAME`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory.selectors import api_client_find, api_clients_list
from memory.services.clients import api_client_create, api_client_revoke
from memory.watch import actors_quarantined


class Command(BaseCommand):
    help = "Create, list and revoke REST API / MCP clients."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Register a client and print its token.")
        create.add_argument("name")
        create.add_argument(
            "--scopes", required=True, help="Comma-separated partitions: profile,messages,..."
        )
        actions.add_parser("list", help="List clients with their scopes.")
        revoke = actions.add_parser("revoke", help="Turn a client's token off.")
        revoke.add_argument("name")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            if api_client_find(name=options["name"]) is not None:
                raise CommandError(f"a client named {options['name']!r} exists")
            try:
                issued = api_client_create(
                    name=options["name"], scopes=options["scopes"], created_by="system:cli"
                )
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"Created client {issued.client.name} with scopes "
                f"{','.join(issued.client.scopes)}. Its token (shown once):"
            )
            self.stdout.write(issued.token)
        elif action == "list":
            clients = api_clients_list()
            held = actors_quarantined(actors=[f"api:{client.name}" for client in clients])
            for client in clients:
                state = "active" if client.active else "revoked"
                if f"api:{client.name}" in held:
                    state += ", quarantined"
                self.stdout.write(f"{client.name}\t{','.join(client.scopes)}\t{state}")
        else:
            to_revoke = api_client_find(name=options["name"])
            if to_revoke is None:
                raise CommandError(f"no client named {options['name']!r}")
            api_client_revoke(client=to_revoke, revoked_by="system:cli")
            self.stdout.write(f"Revoked client {to_revoke.name}.")
