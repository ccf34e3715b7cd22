"""When the database cannot be reached or its connections are all busy, answer at once with
503 and Retry-After instead of a 500 after a long wait: Twilio and SendGrid retry a 5xx, and
nothing was accepted, so nothing is lost.

A database that is down would otherwise cost every request the pool's whole wait (psycopg's
pool keeps a waiting request waiting while it retries the connection in the background). So
the first failure is checked with a direct connection attempt (`database_probe`, a second at
most); when the server is really unreachable a breaker opens and, until a probe (at most one
each PROBE_EVERY_SECONDS per process) finds it back, requests get their 503 without touching
the pool. A busy pool (the server answers) opens nothing: that request alone gets the 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
PROBE_TIMEOUT_SECONDS = 1
PROBE_EVERY_SECONDS = 0.5
EXEMPT_PATHS = frozenset({"/healthz", "/healthz/"})


def database_probe() -> bool:
    """Can a new connection be made to the database right now? Outside the pool, with a
    short connect timeout: the pool would wait its whole timeout instead of saying no."""
    if connection.vendor != "postgresql":
        return True
    params = connection.get_connection_params()
    params["connect_timeout"] = PROBE_TIMEOUT_SECONDS
    try:
        with psycopg.connect(**params) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


class DatabaseBreaker:
    """This process's view of whether the database is down: opened by a failed probe, closed
    by the first probe that succeeds (one probe at a time, PROBE_EVERY_SECONDS apart)."""

    def __init__(self, probe: Callable[[], bool] = database_probe) -> None:
        self.probe = probe
        self._lock = threading.Lock()
        self._open_since: float | None = None
        self._probed_at = 0.0
        self._failure_probed_at = 0.0

    @property
    def is_open(self) -> bool:
        return self._open_since is not None

    def failed(self) -> bool:
        """A request met a database error: is the server unreachable? Opens the breaker if so.
        Probed once each PROBE_EVERY_SECONDS at most: a pool out of connections raises too,
        and must not be answered with a stream of extra connections."""
        with self._lock:
            now = time.monotonic()
            if self._open_since is not None or now - self._failure_probed_at < PROBE_EVERY_SECONDS:
                return self._open_since is not None
            self._failure_probed_at = now
        return not self.check()

    def admits(self) -> bool:
        """May this request try the database? Always while closed; while open, only the one
        request whose turn it is to probe, and only when the probe finds the server back."""
        if self._open_since is None:
            return True
        with self._lock:
            if time.monotonic() - self._probed_at < PROBE_EVERY_SECONDS:
                return False
            self._probed_at = time.monotonic()
        return self.check()

    def check(self) -> bool:
        """Probe now, and open or close the breaker by what the probe finds (/healthz)."""
        reachable = self.probe()
        with self._lock:
            self._probed_at = time.monotonic()
            was_open_since, self._open_since = (
                self._open_since,
                None if reachable else (self._open_since or time.monotonic()),
            )
        if not reachable and was_open_since is None:
            logger.error("database unreachable: answering 503 until it is back")
        if reachable and was_open_since is not None:
            logger.warning(
                "database reachable again after %.1f s", time.monotonic() - was_open_since
            )
            _discard_broken_pooled_connections()
        return reachable


def _discard_broken_pooled_connections() -> None:
    """Pooled connections opened before the outage are dead: test and drop them now rather
    than let each fail one request."""
    pool = getattr(connection, "pool", None)
    if pool is not None:
        try:
            pool.check()
        except psycopg.Error:
            logger.warning("could not check the pooled connections", exc_info=True)


breaker = DatabaseBreaker()


def unavailable() -> HttpResponse:
    response = HttpResponse(
        "Service temporarily unavailable; retry shortly.\n",
        status=503,
        content_type="text/plain",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class RequestsInProgressLimit:
    """ASGI wrapper: at most `limit` HTTP requests in progress in this process; past that, 503
    with Retry-After at once.

    Requests beyond the web threads queue for one; unbounded, a burst the process cannot serve
    would make every request wait its way toward the provider's timeout (Twilio gives up at
    15 s). A prompt 503 with Retry-After, which providers retry as they do the database's,
    keeps the accepted ones fast and tells the client to come back. /healthz is never refused
    for being busy: a load balancer must not take a busy process for a dead one. The count
    lives on the process's one event loop, so it needs no lock.
    """

    def __init__(self, app: Callable[..., Any], *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_progress = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            logger.warning("%d requests in progress: %s answered 503", self.limit, scope["path"])
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"Busy; retry shortly.\n"})
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1


class DatabaseUnavailableMiddleware:
    """Turns a database that is down or out of connections into 503 + Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # /healthz answers for itself, naming what is down.
        if request.path not in EXEMPT_PATHS and not breaker.admits():
            return unavailable()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        down = breaker.failed()
        logger.warning(
            "database %s for %s: %s",
            "unreachable" if down else "unavailable",
            request.path,
            type(exception).__name__,
        )
        return unavailable()
