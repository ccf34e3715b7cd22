"""Orchestrator actions a person takes: giving a handed-off conversation back to automation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels_app.publisher import SUPERVISORS, conversation_group, publish
from memory.services import conversation_release

if TYPE_CHECKING:
    from memory.models import Conversation


def conversation_return_to_automation(
    *, conversation: Conversation, released_by: str
) -> Conversation:
    """Close the conversation's handoff so automation replies again, and tell supervisors."""
    released = conversation_release(conversation=conversation, released_by=released_by)
    publish(
        "conversation.released",
        {"conversation_id": released.pk, "released_by": released_by},
        groups=(SUPERVISORS, conversation_group(released.pk)),
    )
    return released
