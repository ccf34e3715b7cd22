"""A private stack for fault tests: its own redis-server on a free port, the real ASGI server
and a real Celery worker (with beat, so the sweeper runs on its schedule) as subprocesses on
the test database. Tests stop Redis and kill the worker on purpose; the shared Redis and
PostgreSQL are never touched: a test that stops the database starts a PostgreSQL server of its
own (`PrivatePostgres`, initdb into a temporary directory, a copy of the test database loaded
into it). Skipped without REDIS_URL and PostgreSQL."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from tests.channels_app.conftest import PUBLIC_URL, TWILIO_TOKEN, sign, sms_params
from tests.orchestrator.conftest import trained_model_dir  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "redis-server"
PG_BIN = Path(os.environ.get("RAPPORT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.fault)


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis() -> None:
    if not os.environ.get("REDIS_URL") or connection.vendor != "postgresql":
        pytest.skip("fault tests need REDIS_URL and PostgreSQL")
    if shutil.which("redis-server") is None:
        pytest.skip("fault tests start their own redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replies_in_flight() -> list[tuple[int, str, dict[str, object]]]:
    """Outbound messages neither delivered nor failed yet (`pending` or `sending`)."""
    from memory.models import Message

    return list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            delivery_status__in=[Message.DeliveryStatus.PENDING, Message.DeliveryStatus.SENDING],
        ).values_list("pk", "delivery_status", "channel_metadata")
    )


def wait_until(predicate, *, seconds: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds} s")


class Stack:
    """The private Redis, web server and worker, each started and stopped on demand."""

    def __init__(self, tmp: Path, model_dir: Path) -> None:
        self.tmp = tmp
        self.redis_port = free_port()
        self.web_port = free_port()
        self.redis: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_FROM_NUMBER": "+14155550000",
            "RAPPORT_PUBLIC_URL": PUBLIC_URL,
            "OUTBOUND_SMS_BACKEND": "console",
            "RAPPORT_MODEL_DIR": str(model_dir),
            "STATIC_MANIFEST": "0",
            # The sweeper every second, for messages a few seconds old and runs stuck 8 s.
            "PIPELINE_SWEEP_SECONDS": "1",
            "PIPELINE_SWEEP_GRACE_SECONDS": "3",
            "PIPELINE_STUCK_AFTER_SECONDS": "8",
            # Deliveries stored but not recorded 3 s on (their task lost with Redis), each second.
            "INBOUND_SWEEP_SECONDS": "1",
            "INBOUND_SWEEP_GRACE_SECONDS": "3",
            "CELERY_VISIBILITY_TIMEOUT": "15",
            # Replies: one left `sending` 5 s by a lost worker is settled, each second, and one
            # `pending` 5 s (its delivery task lost with the worker) handed to delivery again.
            "OUTBOUND_SWEEP_SECONDS": "1",
            "OUTBOUND_SENDING_STUCK_SECONDS": "5",
            "OUTBOUND_SWEEP_GRACE_SECONDS": "5",
            "PYTHONUNBUFFERED": "1",
        }

    # Redis ------------------------------------------------------------------------------------
    def redis_start(self) -> None:
        self.redis = subprocess.Popen(  # noqa: S603 - our own redis-server, on loopback
            [
                REDIS_SERVER,
                "--port", str(self.redis_port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, seconds=10, what="private redis-server up")

    def redis_stop(self) -> None:
        """Stop Redis as an outage does (SIGKILL: no goodbye to clients); its data is lost."""
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(timeout=10)
            self.redis = None

    # Web --------------------------------------------------------------------------------------
    def web_start(self) -> None:
        self.web = subprocess.Popen(  # noqa: S603 - the project's own ASGI server
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.web_port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.tmp / "web.log", "ab"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )  # fmt: skip

        def up() -> bool:
            try:
                requests.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=5)
            except requests.RequestException:
                return False
            return True

        wait_until(up, seconds=30, what="web server up", every=0.25)

    def sms(self, **overrides: str) -> tuple[dict[str, str], requests.Response, float]:
        """One signed SMS webhook as Twilio sends it, and how long the answer took."""
        params = sms_params(**overrides)
        path = "/twilio/sms/"
        began = time.monotonic()
        response = requests.post(
            f"http://127.0.0.1:{self.web_port}{path}",
            data=params,
            headers={"X-Twilio-Signature": sign(PUBLIC_URL + path, params)},
            timeout=30,
        )
        return params, response, time.monotonic() - began

    # Worker -----------------------------------------------------------------------------------
    def worker_start(self) -> None:
        self.worker = subprocess.Popen(  # noqa: S603 - the project's own Celery worker
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat",
             "--schedule", str(self.tmp / "beat-schedule"), "--pool=prefork",
             "--concurrency=2", "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.tmp / "worker.log", "ab"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def worker_kill(self) -> None:
        """kill -9 the worker and every process it forked, mid-task."""
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)
            self.worker = None

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The end of a process's log (web.log, worker.log), for a failure's message."""
        path = self.tmp / name
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def use_database(self, url: str) -> None:
        """Point the web server and worker started from now on at another database."""
        self.env["DATABASE_URL"] = url

    def stop(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=4)
            except subprocess.TimeoutExpired:
                self.worker_kill()
            self.worker = None
        if self.web is not None:
            self.web.terminate()
            self.web.wait(timeout=10)
            self.web = None
        self.redis_stop()


@pytest.fixture
def stack(tmp_path: Path, trained_model_dir: Path) -> Iterator[Stack]:  # noqa: F811
    running = Stack(tmp_path, trained_model_dir)
    try:
        yield running
    finally:
        running.stop()


class PrivatePostgres:
    """A PostgreSQL server of the test's own, to stop on purpose: initdb into a temporary
    directory (as the `postgres` user when run as root: the server refuses root), on a free
    loopback port, loaded with a copy of the test database (pg_dump), so the web server and
    worker run on it exactly as on the shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.root / "data"
        self.name = connection.settings_dict["NAME"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{self.name}"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str | Path, **options) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # noqa: S603 - PostgreSQL's own tools, on a private directory
            [*self._as_user, *map(str, command)],
            check=True,
            capture_output=True,
            timeout=60,
            **options,
        )

    def create(self) -> None:
        """initdb, start, and load the schema and rows of the test database."""
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "--no-sync", "--encoding=UTF8", "--locale=C",
        )  # fmt: skip
        self.start()
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  self.name)  # fmt: skip
        db = connection.settings_dict
        dump = subprocess.run(  # noqa: S603 - pg_dump of the test database
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges",
             "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432),
             "-U", db["USER"], db["NAME"]],
            check=True, capture_output=True, timeout=60,
            env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""},
        )  # fmt: skip
        self._run(
            PG_BIN / "psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", "postgres", "-d", self.name,
            input=dump.stdout,
        )  # fmt: skip

    def start(self) -> None:
        # fsync off (the machine does not crash, only the server); synchronous_commit stays on:
        # an immediate stop must keep every transaction it acknowledged.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c full_page_writes=off "
            "-c max_connections=60 -c shared_buffers=16MB"
        )
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "log",
                  "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        """Stop as an outage does: immediately, every connection cut, no checkpoint."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Rows of one read on the private server (the test's own Django connection is on
        the shared one)."""
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://"),
                             connect_timeout=5) as conn:  # fmt: skip
            return list(conn.execute(sql, params).fetchall())

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    server = PrivatePostgres()
    try:
        server.create()
        yield server
    finally:
        server.destroy()
