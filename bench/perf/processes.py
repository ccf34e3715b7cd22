"""The Celery worker and the web server the benchmark starts for its run, and stops: each in
its own process group, with its output in a log file shown when it fails to come up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

BIN = Path(sys.executable).parent


class ProcessFailed(RuntimeError):
    """A process the benchmark started did not come up in time."""


class Managed:
    """One child process (and its children), stopped by its process group's id."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"rapport-bench-{name}-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own executables
                argv,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until(self, ready: Callable[[], bool], *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProcessFailed(f"{self.name} exited: {self.tail()}")
            if ready():
                return
            time.sleep(0.25)
        self.stop()
        raise ProcessFailed(f"{self.name} not ready after {timeout:.0f}s: {self.tail()}")

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, *, timeout: float = 15) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.unlink(missing_ok=True)


def child_env(*, database_url: str, redis_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child: this one, pointed at the benchmark's database and Redis."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        OTEL_EXPORTER="none",
        OUTBOUND_SMS_BACKEND="console",
        OUTBOUND_EMAIL_BACKEND="console",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def worker_start(*, env: dict[str, str], concurrency: int) -> Managed:
    """A Celery worker on the benchmark's broker, ready once it answers a ping."""
    from config.celery import app

    name = f"rapport-bench-{os.getpid()}@{socket.gethostname()}"
    worker = Managed(
        "celery-worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            name,
        ],
        env,
    )
    worker.wait_until(lambda: bool(app.control.ping(destination=[name], timeout=0.5)), timeout=60)
    return worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connection_budget(*, ceiling: int = 20) -> int:
    """How many requests the server may work on at once: each holds a database connection
    (Django under ASGI runs each request's view in its own thread, with its own connection),
    and the PostgreSQL server is shared, so stay at a third of what it has free."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int, "
            "(SELECT count(*) FROM pg_stat_activity)"
        )
        limit, used = cursor.fetchone()
    return max(2, min(ceiling, (int(limit) - int(used)) // 3))


WEB_PROCESSES = 2


def web_processes() -> int:
    """uvicorn processes for the run: the production shape of issue 15 (2 on a 2-core
    machine), never more than there are cores."""
    return max(1, min(WEB_PROCESSES, os.cpu_count() or 1))


def server_start(
    *, env: dict[str, str], port: int, concurrency: int, processes: int = 1
) -> Managed:
    """uvicorn serving Rapport's ASGI app on 127.0.0.1:`port` with `processes` workers, ready
    once it answers HTTP.

    `concurrency` is the database connections the server may hold, split between its
    processes: each serves HTTP on that many threads with a connection pool of that size
    (config/asgi.py), so no load opens more. Requests past the threads queue in the process
    until RAPPORT_HTTP_MAX_IN_PROGRESS, then get 503 with Retry-After; uvicorn's own
    --limit-concurrency is left off, as it counts idle keep-alive connections as well."""
    per_process = max(1, concurrency // max(1, processes))
    server = Managed(
        "uvicorn",
        [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(processes),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        {
            **env,
            "DATABASE_CONN_MAX_AGE": "0",
            "RAPPORT_DB_POOL_MAX": str(per_process),
            "RAPPORT_HTTP_THREADS": str(per_process),
        },
    )

    def answers() -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/twilio/sms/", timeout=1)  # noqa: S310
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False
        return True

    server.wait_until(answers, timeout=60)
    return server
