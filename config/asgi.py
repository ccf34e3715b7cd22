"""ASGI entry point: HTTP through Django (the MCP server's streamable HTTP at /mcp/), websockets
through Channels.

Django's own ASGI handler starts a thread for every request and hops between it and the event
loop several times (the middleware is sync): about a tenth of a webhook's CPU, and a database
connection per request in flight, however many. So plain HTTP runs through Django's WSGI
handler on a fixed pool of RAPPORT_HTTP_THREADS threads per process (a2wsgi), as gunicorn's
threaded workers would: a thread, and so a pooled database connection, is reused from one
request to the next, and no more of them are open than there are threads. 0 goes back to
Django's ASGI handler. Past RAPPORT_HTTP_MAX_IN_PROGRESS requests at once a process answers
503 with Retry-After rather than queue without bound (channels_app.overload).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from channels_app.api.mcp_server import McpHttpApp  # noqa: E402
from channels_app.overload import RequestsInProgressLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

logger = logging.getLogger(__name__)
mcp_http_app = McpHttpApp()
django_wsgi_app: Any = get_wsgi_application()  # a WSGI callable (its stubs say otherwise)
django_http_app: Any = RequestsInProgressLimit(
    (
        WSGIMiddleware(django_wsgi_app, workers=settings.RAPPORT_HTTP_THREADS)
        if settings.RAPPORT_HTTP_THREADS
        else django_asgi_app
    ),
    limit=settings.RAPPORT_HTTP_MAX_IN_PROGRESS,
)


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/mcp/ to the MCP server, everything else to Django."""
    mount = settings.RAPPORT_MCP_PATH
    if scope["path"] == mount.rstrip("/") or scope["path"].startswith(mount):
        await mcp_http_app(scope, receive, send)
    else:
        await django_http_app(scope, receive, send)


def _process_warm() -> None:
    """What a web process's first webhook would otherwise pay for, paid before it listens:
    the URL map compiled, a pooled database connection opened, the broker's producer
    connection and the shared cache client connected. Best effort: a service that is down
    now is found (and answered 503 for) by the first request, as before."""
    from django.core.cache import cache
    from django.db import connection
    from django.urls import get_resolver

    from config.celery import app as celery_app

    steps = (
        get_resolver().url_patterns.__len__,
        connection.ensure_connection,
        connection.close,  # back to the pool, open, for the first request's thread
        lambda: cache.get("rapport:warm"),
        lambda: celery_app.connection_for_write().ensure_connection(max_retries=1),
    )
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort, see above
            logger.warning("warming the web process: %s failed", step, exc_info=True)


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI lifespan (uvicorn): warm the process at start-up, before it takes requests."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await asyncio.to_thread(_process_warm)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
