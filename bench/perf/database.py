"""The benchmark's own PostgreSQL database: created, migrated and dropped by the command (or one
named with --database-url, kept), never the configured default or test database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import dj_database_url
import psycopg
from django.core.management import call_command
from django.db import connection, connections
from psycopg import sql


class BenchDatabaseError(RuntimeError):
    """The benchmark cannot get a PostgreSQL database of its own."""


@dataclass(frozen=True)
class BenchDatabase:
    """Where the benchmark writes, as a URL the server and worker processes are given too."""

    name: str
    url: str
    scratch: bool


def database_url(settings_dict: dict[str, Any]) -> str:
    """A postgres:// URL for a Django connection's settings."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


@contextmanager
def bench_database(
    *, url: str | None, keep: bool, progress: Callable[[str], None]
) -> Iterator[BenchDatabase]:
    """Point Django's default connection at the benchmark's database for the block.

    Without `url`, a `rapport_bench_<random>` database is created on the configured PostgreSQL
    server and dropped afterwards (unless `keep`); with one, that database is used and kept.
    """
    default = connections.databases["default"]
    original = dict(default)
    if url:
        target = dj_database_url.parse(url)
        if not str(target["ENGINE"]).endswith("postgresql"):
            raise BenchDatabaseError("--database-url must name a PostgreSQL database")
        name, scratch = str(target["NAME"]), False
    else:
        if not str(default["ENGINE"]).endswith("postgresql"):
            raise BenchDatabaseError(
                "the benchmark needs PostgreSQL: set DATABASE_URL (any database on the server "
                "will do; the benchmark creates its own) or pass --database-url"
            )
        target = dj_database_url.parse(database_url(default))
        name, scratch = f"rapport_bench_{uuid.uuid4().hex[:10]}", True
        target["NAME"] = name
        progress(f"creating database {name}")
        _server_command(default, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    default.update(
        {key: target.get(key) or "" for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    )
    default["CONN_MAX_AGE"] = 0
    try:
        progress(f"migrating {name}")
        call_command("migrate", verbosity=0, interactive=False)
        yield BenchDatabase(name=name, url=database_url(default), scratch=scratch)
    finally:
        connection.close()
        default.clear()
        default.update(original)
        if scratch and not keep:
            progress(f"dropping database {name}")
            _server_command(
                original,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
            )
        elif scratch:
            progress(f"kept database {name}")


def _server_command(settings_dict: dict[str, Any], statement: sql.Composed) -> None:
    """Run CREATE/DROP DATABASE on the server, from its maintenance database."""
    with psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=settings_dict.get("PORT") or 5432,
        autocommit=True,
        connect_timeout=10,
    ) as server:
        server.execute(statement)
