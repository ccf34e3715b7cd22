"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps cache handles per async context, and under ASGI every request is a context of its
own: the stock backend built a new client, connection pool and TCP connection (with its
HELLO, CLIENT SETINFO and SELECT) for every request that touched the cache, which every
webhook does to check its sender's failed-credential count. Sharing the client keeps its
connections open between requests; redis-py's pool is thread-safe and starts afresh in a
forked child.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple[tuple[str, ...], str], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class SharedRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one redis-py `Redis` per connection pool: the stock one makes
    a new `Redis` (copying its table of response callbacks) for every command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_by_pool: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        stock: Any = self  # Django's private helpers, which its type stubs leave out
        index = stock._get_connection_pool_index(write)
        client = self._redis_by_pool.get(index)
        if client is None:
            pool = stock._get_connection_pool(write)
            client = self._redis_by_pool.setdefault(index, stock._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    """RedisCache whose client is shared by every handle with the same servers and options."""

    @cached_property
    def _cache(self) -> Any:
        stock: Any = self  # Django's private attributes, which its type stubs leave out
        servers, options = stock._servers, stock._options
        key = (tuple(servers), repr(sorted(options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = SharedRedisCacheClient(servers, **options)
        return client
