"""ASGI entry point: HTTP through Django (the MCP server's streamable HTTP at /mcp/), websockets
through Channels."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from channels_app.api.mcp_server import McpHttpApp  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

mcp_http_app = McpHttpApp()


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/mcp/ to the MCP server, everything else to Django."""
    mount = settings.RAPPORT_MCP_PATH
    if scope["path"] == mount.rstrip("/") or scope["path"].startswith(mount):
        await mcp_http_app(scope, receive, send)
    else:
        await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
