"""A private stack for fault tests: its own redis-server on a free port, the real ASGI server
and a real Celery worker (with beat, so the sweeper runs on its schedule) as subprocesses on
the test database. Tests stop Redis and kill the worker on purpose; the shared Redis and
PostgreSQL are never touched. Skipped without REDIS_URL and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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
            "CELERY_VISIBILITY_TIMEOUT": "15",
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

    def stop(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=10)
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
