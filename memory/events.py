"""The live events the console hears, typed, and the one function that sends them.

Each event is a frozen dataclass whose fields are its payload; it knows the websocket groups it
goes to (named from ids, never from phone numbers). `publish` sends it after the current
transaction commits. Consumers join "supervisors", "agents", "agent.<id>", "conversation.<id>"
or "customer.<id>" and receive {"type": "rapport.event", "event": NAME, "payload": {...}}.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import transaction

logger = logging.getLogger(__name__)

SUPERVISORS = "supervisors"
AGENTS = "agents"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def customer_group(customer_id: int) -> str:
    return f"customer.{customer_id}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


@dataclass(frozen=True)
class Event:
    """Something the console shows as it happens; subclasses name it and add their fields."""

    name: ClassVar[str]
    registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            Event.registry[cls.name] = cls

    def payload(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("payload", True)
        }

    def groups(self) -> tuple[str, ...]:
        return (SUPERVISORS,)


def _routing() -> Any:
    """A field that routes the event but is not part of what the console is sent."""
    return field(default=(), metadata={"payload": False})


@dataclass(frozen=True)
class ConversationEvent(Event):
    """About one conversation: supervisors and its watchers hear it; agents too when the
    queue changed; and each agent named in `agent_ids` on their own group."""

    conversation_id: int
    agent_ids: tuple[int | None, ...] = _routing()
    changes_queue: ClassVar[bool] = True

    def groups(self) -> tuple[str, ...]:
        groups = [SUPERVISORS, conversation_group(self.conversation_id)]
        if self.changes_queue:
            groups.append(AGENTS)
        groups += [agent_group(agent_id) for agent_id in self.agent_ids if agent_id is not None]
        return tuple(groups)


@dataclass(frozen=True)
class CustomerConversationEvent(ConversationEvent):
    """A conversation event the customer's page listens to as well."""

    customer_id: int = 0

    def groups(self) -> tuple[str, ...]:
        return (*super().groups(), customer_group(self.customer_id))


# The pipeline ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MessageReceived(CustomerConversationEvent):
    name: ClassVar[str] = "message.received"
    message_id: int
    channel: str
    path: str
    channel_switch: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PipelineDone(CustomerConversationEvent):
    name: ClassVar[str] = "pipeline.done"
    message_id: int
    run_id: int
    status: str
    route: str | None = None
    reasons: list[str] = field(default_factory=list)
    intent: str | None = None
    priority: str = "normal"
    total_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class ReplySent(ConversationEvent):
    name: ClassVar[str] = "reply.sent"
    message_id: int
    text: str = ""
    author: str = ""
    draft_id: int | None = None
    edited: bool = False
    agent_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConversationHandedOff(CustomerConversationEvent):
    name: ClassVar[str] = "conversation.handed_off"
    handoff_id: int
    reason: str = ""
    priority: str = "normal"


@dataclass(frozen=True, kw_only=True)
class ConversationStatus(ConversationEvent):
    name: ClassVar[str] = "conversation.status"
    status: str
    summary: str = ""


# People at work on conversations -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConversationAssigned(ConversationEvent):
    name: ClassVar[str] = "conversation.assigned"
    agent_id: int
    agent: str
    handoff_id: int


@dataclass(frozen=True, kw_only=True)
class ConversationTakenOver(ConversationEvent):
    name: ClassVar[str] = "conversation.taken_over"
    agent_id: int
    agent: str
    handoff_id: int


@dataclass(frozen=True, kw_only=True)
class ConversationReleased(ConversationEvent):
    name: ClassVar[str] = "conversation.released"
    released_by: str
    mode: str


@dataclass(frozen=True, kw_only=True)
class ConversationQueueChanged(ConversationEvent):
    name: ClassVar[str] = "conversation.queue_changed"
    mode: str
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class ReplyDrafted(ConversationEvent):
    name: ClassVar[str] = "reply.drafted"
    draft_id: int
    message_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReplyDiscarded(ConversationEvent):
    name: ClassVar[str] = "reply.discarded"
    draft_id: int


@dataclass(frozen=True, kw_only=True)
class SlaStarted(ConversationEvent):
    name: ClassVar[str] = "sla.started"
    kind: str
    due_at: str


@dataclass(frozen=True, kw_only=True)
class SlaBreached(ConversationEvent):
    name: ClassVar[str] = "sla.breached"
    kind: str
    channel: str
    due_at: str
    overdue_seconds: int


@dataclass(frozen=True, kw_only=True)
class IntentCorrected(ConversationEvent):
    name: ClassVar[str] = "intent.corrected"
    changes_queue: ClassVar[bool] = False
    message_id: int
    intent: str


# The work of a conversation: resolved, snoozed, reopened; notes, labels, the customer's name -----


@dataclass(frozen=True, kw_only=True)
class ConversationResolved(ConversationEvent):
    name: ClassVar[str] = "conversation.resolved"
    disposition: str
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class ConversationSnoozed(ConversationEvent):
    name: ClassVar[str] = "conversation.snoozed"
    until: str
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class ConversationReopened(ConversationEvent):
    name: ClassVar[str] = "conversation.reopened"
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class NoteAdded(ConversationEvent):
    """A private note between people; its words are never in the event."""

    name: ClassVar[str] = "note.added"
    changes_queue: ClassVar[bool] = False
    note_id: int
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class LabelsChanged(ConversationEvent):
    name: ClassVar[str] = "conversation.labels_changed"
    labels: list[str] = field(default_factory=list)
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class CustomerRenamed(ConversationEvent):
    """A person corrected the customer's name, from one of their conversations."""

    name: ClassVar[str] = "customer.renamed"
    customer_id: int
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class PresenceChanged(Event):
    """An agent came online, went busy or away, or changed capacity: the roster shows it."""

    name: ClassVar[str] = "agent.presence"
    agent_id: int
    agent: str
    status: str
    capacity: int

    def groups(self) -> tuple[str, ...]:
        return (SUPERVISORS, AGENTS)


# Customers ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CustomerMerged(Event):
    name: ClassVar[str] = "customer.merged"
    customer_id: int
    source_customer_id: int
    merged_by: str = ""

    def groups(self) -> tuple[str, ...]:
        return (
            SUPERVISORS,
            customer_group(self.customer_id),
            customer_group(self.source_customer_id),
        )


@dataclass(frozen=True, kw_only=True)
class MergeDecided(Event):
    name: ClassVar[str] = "customer.merge_decided"
    proposal_id: int
    status: str
    customer_id: int

    def groups(self) -> tuple[str, ...]:
        return (SUPERVISORS, customer_group(self.customer_id))


# The access watch --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ActorQuarantined(Event):
    """An agent or client the watch (or a person) has stopped from reading context."""

    name: ClassVar[str] = "actor.quarantined"
    actor: str
    anomaly: str
    reason: str
    detection_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class ActorQuarantineLifted(Event):
    name: ClassVar[str] = "actor.quarantine_lifted"
    actor: str
    by: str


def publish(event: Event, *, groups: Iterable[str] = ()) -> None:
    """Send an event to its groups (and any extra ones) once the current transaction commits,
    at once outside one.

    Robust: a channel layer that is down loses the live update, never the write behind it.
    """
    targets = tuple(dict.fromkeys((*event.groups(), *groups)))
    message = {"type": "rapport.event", "event": event.name, "payload": event.payload()}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        _sends.send(layer, targets, message)

    transaction.on_commit(send, robust=True)
    logger.debug("queued %s for %s", event.name, ", ".join(targets))


async def _group_send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
    await asyncio.gather(*(layer.group_send(group, message) for group in groups))


class _Sends:
    """Where this process's events are sent from: one event loop on a thread of its own.

    The Redis channel layer keeps its connections per event loop, and `async_to_sync` makes a
    new loop for every call, so sending from it opened and closed a connection for every
    event and group. Sends handed to one long-lived loop reuse its connections; each send
    still waits for its event to be out (up to PUBLISH_WAIT_SECONDS), so the events one thread
    publishes keep their order. A fork (a Celery worker's child) starts its own loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def send(self, layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
        if not isinstance(layer, RedisChannelLayer):
            # The in-memory layer's queues belong to the loop that reads them (a test's or
            # the dev server's): one `async_to_sync` call for all the groups.
            async_to_sync(_group_send_all)(layer, groups, message)
            return
        future = asyncio.run_coroutine_threadsafe(
            _group_send_all(layer, groups, message), self._running_loop()
        )
        try:
            future.result(timeout=PUBLISH_WAIT_SECONDS)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="rapport-events", daemon=True
                ).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


PUBLISH_WAIT_SECONDS = 2.0
_sends = _Sends()
