"""Fixtures for the compliance tests: the orchestrator's trained models and signed webhook
traffic, a span recorder on the SDK's in-memory exporter, and a supervisor alert listener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from memory.actors import AgentActor
from orchestrator import pipeline
from orchestrator.agents.registry import BUILTIN_AGENTS, actor_for
from orchestrator.models import AgentConfig
from tests.channels_app.conftest import (  # noqa: F401 - fixtures: signed webhook traffic
    _channel_settings,
    twilio_post,
)
from tests.orchestrator.conftest import (  # noqa: F401 - fixtures: trained models
    _orchestrator_settings,
    say,
    trained_model_dir,
)

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _span_provider() -> TracerProvider:
    """The SDK provider, installed once (OpenTelemetry allows one global provider)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    return provider


@pytest.fixture
def spans(_span_provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    _exporter.clear()
    yield _exporter
    _exporter.clear()


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any], tuple[str, ...]]]:
    """What the access watch publishes: each event's name, payload and the groups it goes to."""
    from memory import watch
    from memory.events import Event

    sent: list[tuple[str, dict[str, Any], tuple[str, ...]]] = []

    def record(event: Event, *, groups: Any = ()) -> None:
        sent.append((event.name, event.payload(), tuple(dict.fromkeys((*event.groups(), *groups)))))

    monkeypatch.setattr(watch, "publish", record)
    return sent


def builtin_actor(name: str) -> AgentActor:
    """A built-in agent as the pipeline makes it: its name and the scope its config grants."""
    return actor_for(BUILTIN_AGENTS[name], AgentConfig.objects.filter(name=name).first())


@pytest.fixture
def run_behind(say):  # noqa: F811 - the imported fixture, used here
    """An inbound message with its pipeline run planned: the work behind an agent's read."""

    def plan(text: str = "where is my order 88123?", sender: str = "+14155550101") -> str:
        message = say(text, sender=sender)
        assert pipeline.message_plan(message_id=message.pk) is not None
        return f"message:{message.pk}"

    return plan
