"""`/healthz`: 200 only when this process can reach what it needs to answer a request, the
database and (in the production shape) Redis; 503 naming what is down otherwise."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from channels_app.overload import breaker

logger = logging.getLogger(__name__)

# A probe must answer before the load balancer's own timeout.
PROBE_TIMEOUT_SECONDS = 2.0


def database_reachable() -> bool:
    """A direct connection attempt first (a second at most: a pool would wait its whole
    timeout for a server that is down), then a query through the pool requests use."""
    if not breaker.check():
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except DatabaseError:
        logger.exception("healthz: the database is unreachable")
        # A broken connection stays broken for this thread; let the next request reconnect.
        connection.close_if_unusable_or_obsolete()
        return False


def redis_reachable(url: str) -> bool:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        logger.exception("healthz: Redis is unreachable")
        return False
    finally:
        client.close()


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Readiness for load balancers and the simulator."""
    checks = {"database": "ok" if database_reachable() else "down"}
    if settings.REDIS_URL:
        checks["redis"] = "ok" if redis_reachable(settings.REDIS_URL) else "down"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
