"""Fixtures for orchestrator tests: the default intent and sentiment models trained once per
session in a temporary directory, a supervisor's admin client, a listener on event groups,
and the shortcuts the pipeline tests share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import override_settings

from memory.models import Channel, Message
from memory.services import message_record_inbound
from orchestrator.intelligence.escalation import escalation_model
from orchestrator.intelligence.store import process_cache
from orchestrator.intelligence.training import model_in_service
from orchestrator.models import AgentRun, PipelineRun
from tests.channels_app.conftest import (  # noqa: F401 - fixtures: signed webhook traffic
    _channel_settings,
    email_post,
    twilio_post,
)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("orchestrator-models")
    with override_settings(RAPPORT_MODEL_DIR=directory):
        process_cache.clear()
        model_in_service("intent")
        model_in_service("sentiment")
        model_in_service("signals")
        escalation_model()  # the rules agent reads it within its one-second limit
    process_cache.clear()
    return directory


@pytest.fixture(autouse=True)
def _orchestrator_settings(settings, trained_model_dir: Path) -> Iterator[None]:
    settings.RAPPORT_MODEL_DIR = trained_model_dir
    settings.OUTBOUND_SMS_BACKEND = "console"
    settings.OUTBOUND_EMAIL_BACKEND = "console"
    settings.ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF = 1
    process_cache.clear()
    yield
    process_cache.clear()


@pytest.fixture
def say(db) -> Callable[..., Message]:
    """Record an inbound message from Ana (or another sender) on a channel."""

    def record(
        text: str,
        *,
        channel: str = Channel.SMS,
        sender: str = "+14155550101",
        thread_key: str | None = None,
        provider_id: str | None = None,
    ) -> Message:
        recipient = "support@shop.example" if channel == Channel.EMAIL else "+14155550000"
        return message_record_inbound(
            channel=channel,
            sender=sender,
            recipient=recipient,
            text=text,
            provider_id=provider_id,
            thread_key=thread_key,
        ).message

    return record


@pytest.fixture
def run_of() -> Callable[[Message], PipelineRun]:
    def get(message: Message) -> PipelineRun:
        return PipelineRun.objects.select_related("reply_message").get(inbound_message=message)

    return get


def agent_statuses(run: PipelineRun) -> dict[str, str]:
    return dict(AgentRun.objects.filter(pipeline_run=run).values_list("agent_name", "status"))


class GroupListener:
    """A channel subscribed to event groups, as the console's consumer will be."""

    def __init__(self, *groups: str) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        self.groups = groups
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def events(self) -> list[dict[str, Any]]:
        received = []
        while True:
            try:
                received.append(async_to_sync(self._receive)())
            except TimeoutError:
                return received

    async def _receive(self) -> dict[str, Any]:
        import asyncio

        return await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.3)

    def close(self) -> None:
        for group in self.groups:
            async_to_sync(self.layer.group_discard)(group, self.channel)


@pytest.fixture
def listen() -> Iterator[Callable[..., GroupListener]]:
    listeners: list[GroupListener] = []

    def make(*groups: str) -> GroupListener:
        listener = GroupListener(*groups)
        listeners.append(listener)
        return listener

    yield make
    for listener in listeners:
        listener.close()
