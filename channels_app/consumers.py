"""The console's websocket at /ws/console/: live queue rows, conversation events, and who
else is looking at (or replying in) a conversation.

Authenticated from the Django session in `connect()`; the ORM is reached only through
`database_sync_to_async`. Rows of customer context are read through the gate for this
person when pushed, so every push is an audited access; events arriving together (a burst of
traffic, the several events of one action) are pushed as one batch: one gate read, one audit
entry, however many rows it carries.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string

from channels_app.console.access import (
    ConsoleRole,
    console_role,
    conversation_ids_assigned,
    conversation_visible,
)
from channels_app.console.selectors import queue_rows_read
from memory.events import AGENTS, SUPERVISORS, agent_group, conversation_group

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REFUSED_NOT_SIGNED_IN = 4401
REFUSED_NO_ROLE = 4403
# Payload fields that carry customer words; they reach a person only through the gate.
CONTEXT_FIELDS = frozenset({"text", "summary"})


# How long a push waits for the events that come with it (one action publishes several).
PUSH_GATHER_SECONDS = 0.02
# How long a person's finished row read stays shareable with their other tabs in this process.
SHARED_READ_SECONDS = 2.0
_SHARED_READS: dict[
    tuple[int, int, str, tuple[str, ...]], tuple[float, asyncio.Future[dict[int, dict[str, Any]]]]
] = {}


def _queue_rows(
    user: User, role: ConsoleRole, conversation_ids: list[int]
) -> dict[int, dict[str, Any]]:
    rows = queue_rows_read(user=user, role=role, conversation_ids=conversation_ids)
    return {
        pk: {
            **row.to_json(),
            "html": render_to_string("console/_queue_row.html", {"row": row, "role": role}),
        }
        for pk, row in rows.items()
    }


class ConsoleConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """One browser tab of the console."""

    # Set in connect() once the person is signed in and has a console role.
    user: User
    role: ConsoleRole

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED_NOT_SIGNED_IN)
            return
        role = await database_sync_to_async(console_role)(user)
        if role is None:
            await self.close(code=REFUSED_NO_ROLE)
            return
        self.user, self.role = user, role
        self.joined: set[str] = set()
        self.watching: set[int] = set()
        self.shown: set[int] = set()
        self.seen: deque[str] = deque(maxlen=128)
        # Events waiting for their rows, and the task pushing them (see `_push_pending`).
        self.pending: list[tuple[str, str, dict[str, Any], int]] = []
        self.pushing: asyncio.Task[None] | None = None
        if role is ConsoleRole.SUPERVISOR:
            groups = [SUPERVISORS]
        else:
            assigned = await database_sync_to_async(conversation_ids_assigned)(user=user)
            groups = [AGENTS, agent_group(user.pk), *map(conversation_group, assigned)]
        for group in groups:
            await self._join(group)
        await self.accept()
        await self.send_json(
            {
                "event": "console.ready",
                "payload": {"role": role.value, "user": self._name(), "user_id": user.pk},
            }
        )

    async def disconnect(self, code: int) -> None:
        pushing = getattr(self, "pushing", None)
        if pushing is not None:
            pushing.cancel()
        for conversation_id in list(getattr(self, "watching", ())):
            await self._viewer_announce("viewer.left", conversation_id)
        for group in list(getattr(self, "joined", ())):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Browser actions: watch or leave a conversation, say that one is composing a reply."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        try:
            conversation_id = int(content.get("conversation_id", ""))
        except (TypeError, ValueError):
            await self.send_json({"event": "error", "payload": {"detail": "conversation_id"}})
            return
        if action == "watch":
            await self._watch(conversation_id)
        elif action == "leave" and conversation_id in self.watching:
            self.watching.discard(conversation_id)
            await self._viewer_announce("viewer.left", conversation_id)
        elif action == "composing" and conversation_id in self.watching:
            await self._viewer_announce("viewer.composing", conversation_id)

    async def _watch(self, conversation_id: int) -> None:
        allowed = await database_sync_to_async(conversation_visible)(
            user=self.user, role=self.role, conversation_id=conversation_id
        )
        if not allowed:
            await self.send_json(
                {
                    "event": "error",
                    "payload": {"detail": "not yours", "conversation_id": conversation_id},
                }
            )
            return
        await self._join(conversation_group(conversation_id))
        self.watching.add(conversation_id)
        await self._viewer_announce("viewer.joined", conversation_id)

    # Events from the publisher -----------------------------------------------------------------

    async def rapport_event(self, event: dict[str, Any]) -> None:
        """Forward an event once (a tab in two groups hears it twice), with the queue row of its
        conversation read for this person; skip what they may not see."""
        payload = event.get("payload") or {}
        fingerprint = event["event"] + json.dumps(payload, sort_keys=True, default=str)
        if fingerprint in self.seen:
            return
        self.seen.append(fingerprint)
        public = {k: v for k, v in payload.items() if k not in CONTEXT_FIELDS}
        conversation_id = payload.get("conversation_id")
        if conversation_id is None:
            # Supervisors hear everything; an agent only what is about themselves (their
            # presence set from another tab).
            if self.role is ConsoleRole.SUPERVISOR or payload.get("agent_id") == self.user.pk:
                await self.send_json({"event": event["event"], "payload": public, "row": None})
            return
        if event["event"] in ("conversation.assigned", "conversation.taken_over") and (
            payload.get("agent_id") == self.user.pk
        ):
            await self._join(conversation_group(conversation_id))
        self.pending.append((fingerprint, event["event"], public, int(conversation_id)))
        if self.pushing is None or self.pushing.done():
            self.pushing = asyncio.ensure_future(self._push_pending())

    async def _push_pending(self) -> None:
        """Push waiting events with their rows, a batch at a time, in the order they came:
        events heard while a batch is read join the next one, so a burst costs a few gate reads
        (and audit entries) for this person, not one per row or per tab."""
        await asyncio.sleep(PUSH_GATHER_SECONDS)
        while self.pending:
            batch, self.pending = self.pending, []
            rows = await self._rows_shared(batch)
            for _, name, public, conversation_id in batch:
                row = rows.get(conversation_id)
                if row is None:
                    if conversation_id in self.shown or conversation_id in self.watching:
                        self.shown.discard(conversation_id)
                        await self.send_json({"event": name, "payload": public, "row": None})
                    continue
                self.shown.add(conversation_id)
                await self.send_json({"event": name, "payload": public, "row": row})

    async def _rows_shared(
        self, batch: list[tuple[str, str, dict[str, Any], int]]
    ) -> dict[int, dict[str, Any]]:
        """The batch's rows, read once for this person however many of their tabs heard the
        same events in this process (one gate read, one audit entry): the first tab reads, the
        others wait for it. Keyed by the events themselves, so a later event is a fresh read."""
        loop = asyncio.get_running_loop()
        key = (id(loop), self.user.pk, self.role.value, tuple(f for f, _, _, _ in batch))
        now = loop.time()
        for old, (at, read) in list(_SHARED_READS.items()):
            if read.done() and now - at > SHARED_READ_SECONDS:
                del _SHARED_READS[old]
        shared = _SHARED_READS.get(key)
        if shared is None:
            ids = list(dict.fromkeys(conversation_id for _, _, _, conversation_id in batch))
            read = asyncio.ensure_future(
                database_sync_to_async(_queue_rows)(self.user, self.role, ids)
            )
            _SHARED_READS[key] = (now, read)
        else:
            read = shared[1]
        # Shielded: a tab closing mid-read must not cancel the read its sibling waits on.
        return await asyncio.shield(read)

    # Who else is here --------------------------------------------------------------------------

    async def viewer_joined(self, event: dict[str, Any]) -> None:
        if event["channel"] == self.channel_name:
            return
        await self._viewer_send("viewer.joined", event)
        # Answer the newcomer directly, so they learn who was already here.
        await self.channel_layer.send(
            event["channel"],
            {
                "type": "viewer.here",
                "conversation_id": event["conversation_id"],
                "user_id": self.user.pk,
                "user": self._name(),
                "channel": self.channel_name,
            },
        )

    async def viewer_here(self, event: dict[str, Any]) -> None:
        await self._viewer_send("viewer.here", event)

    async def viewer_left(self, event: dict[str, Any]) -> None:
        if event["channel"] != self.channel_name:
            await self._viewer_send("viewer.left", event)

    async def viewer_composing(self, event: dict[str, Any]) -> None:
        if event["channel"] != self.channel_name:
            await self._viewer_send("viewer.composing", event)

    async def _viewer_send(self, name: str, event: dict[str, Any]) -> None:
        if event["conversation_id"] not in self.watching:
            return
        await self.send_json(
            {
                "event": name,
                "payload": {
                    "conversation_id": event["conversation_id"],
                    "user_id": event["user_id"],
                    "user": event["user"],
                    "channel": event["channel"],
                },
            }
        )

    async def _viewer_announce(self, kind: str, conversation_id: int) -> None:
        await self.channel_layer.group_send(
            conversation_group(conversation_id),
            {
                "type": kind,
                "conversation_id": conversation_id,
                "user_id": self.user.pk,
                "user": self._name(),
                "channel": self.channel_name,
            },
        )

    async def _join(self, group: str) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    def _name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()
