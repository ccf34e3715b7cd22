"""What the benchmark ran on, printed and saved with its figures: numbers without the machine
behind them mean little."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import django
from django.db import connection


def machine_describe(*, redis_url: str) -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": _postgres_version(),
        "redis": _redis_version(redis_url) if redis_url else None,
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _redis_version(url: str) -> str | None:
    import redis

    try:
        info = redis.Redis.from_url(url, socket_timeout=2).info("server")
    except redis.RedisError:
        return None
    return str(info.get("redis_version"))
