"""A web process warms up at ASGI lifespan start-up (uvicorn), before it takes requests, and a
service that is down then does not keep it from starting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from config import asgi


def lifespan_run(monkeypatch: pytest.MonkeyPatch, warm: Any) -> list[str]:
    monkeypatch.setattr(asgi, "_process_warm", warm)
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(incoming)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    asyncio.run(asgi.application({"type": "lifespan"}, receive, send))
    return sent


def test_the_process_warms_before_it_reports_started(monkeypatch):
    order: list[str] = []
    sent = lifespan_run(monkeypatch, lambda: order.append("warmed"))

    assert order == ["warmed"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


class BrokerAway:
    def ensure_connection(self, **_: Any) -> None:
        raise ConnectionError("broker away")


@pytest.mark.django_db(transaction=True)
def test_a_warm_up_step_that_fails_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setattr("config.celery.app.connection_for_write", BrokerAway)

    asgi._process_warm()

    assert "warming the web process" in caplog.text and "broker away" in caplog.text
