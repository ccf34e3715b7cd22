"""The console's websocket groups beyond the publisher's own, and its events, sent through
the one publishing module after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels_app.publisher import SUPERVISORS, conversation_group, publish

AGENTS = "agents"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def console_publish(
    event_type: str,
    payload: dict[str, Any],
    *,
    conversation_id: int,
    agent_ids: Iterable[int | None] = (),
    queue: bool = True,
) -> None:
    """Tell supervisors and the conversation's watchers; agents too when the queue changed,
    and each named agent on their own group."""
    groups = [SUPERVISORS, conversation_group(conversation_id)]
    if queue:
        groups.append(AGENTS)
    groups += [agent_group(agent_id) for agent_id in agent_ids if agent_id is not None]
    publish(event_type, {"conversation_id": conversation_id, **payload}, groups=groups)
