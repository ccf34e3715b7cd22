"""Serve the MCP server: `--transport stdio` as the client in RAPPORT_MCP_TOKEN, or
`--transport http` (streamable HTTP at /mcp/ with bearer tokens, beside the whole ASGI app)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.api.mcp_server import server_build
from memory.services.clients import api_client_actor_for_token


class Command(BaseCommand):
    help = "Serve Rapport's MCP server over stdio or streamable HTTP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, transport: str, host: str, port: int, **options: Any) -> None:
        if transport == "stdio":
            token = os.environ.get("RAPPORT_MCP_TOKEN", "")
            if api_client_actor_for_token(token=token, via="mcp") is None:
                raise CommandError("set RAPPORT_MCP_TOKEN to an active client's token")
            server_build(token=token).run("stdio")
            return
        import uvicorn

        self.stderr.write(f"MCP over streamable HTTP at http://{host}:{port}/mcp/")
        uvicorn.run("config.asgi:application", host=host, port=port)
