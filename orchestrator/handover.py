"""Channel switches: a customer who moves to another channel finds their open business and a
short handover summary waiting in the new conversation, linked to the one they left.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from django.conf import settings

from memory.actors import AgentActor, Partition
from memory.models import Conversation, Message
from memory.selectors import (
    context_read,
    conversation_latest_elsewhere,
    message_has_earlier_inbound,
)
from memory.services import conversation_record_channel_switch

if TYPE_CHECKING:
    from memory.context import ContextPack
    from memory.models import ChannelSwitch

HANDOVER = AgentActor(name="handover", scopes=frozenset({Partition.MESSAGES, Partition.BUSINESS}))
SUMMARY_WORDS = 60


def channel_switch_carry(*, inbound: Message) -> ChannelSwitch | None:
    """If `inbound` opens a conversation on another channel than the customer's last one
    (within ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS), carry the open cases and a handover
    summary over and record the switch with how long carrying took. None if no switch.
    """
    seen = time.perf_counter()
    conversation = inbound.conversation
    if conversation.previous_id is not None or message_has_earlier_inbound(message=inbound):
        return None
    window = dt.timedelta(hours=settings.ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS)
    previous = conversation_latest_elsewhere(
        customer_id=inbound.customer_id,
        conversation_id=conversation.pk,
        since=inbound.sent_at - window,
    )
    if previous is None or previous.channel == conversation.channel:
        return None
    pack = context_read(
        actor=HANDOVER,
        customer=inbound.customer_id,
        partitions=HANDOVER.scopes,
        purpose=f"hand over conversation #{previous.pk} to {conversation.channel}",
        correlation_id=f"message:{inbound.pk}",
    )
    return conversation_record_channel_switch(
        to_conversation=conversation,
        from_conversation=previous,
        handover_summary=handover_summary(pack=pack, previous=previous),
        carried_case_ids=[case.case_id for case in pack.open_cases],
        latency_ms=round((time.perf_counter() - seen) * 1000, 2),
    )


def handover_summary(*, pack: ContextPack, previous: Conversation) -> str:
    """A few lines a person or an agent reads first on the new channel."""
    turns = [t for t in pack.turns if t.conversation_id == previous.pk]
    last_said = next((t.text for t in turns if t.direction == Message.Direction.INBOUND), "")
    lines = [
        f"Continued from {previous.get_channel_display()} conversation #{previous.pk}"
        f" ({len(turns)} recent turns, last {previous.last_message_at:%Y-%m-%d %H:%M})."
    ]
    if pack.open_cases:
        cases = "; ".join(f"{c.kind} {c.reference} {c.status}" for c in pack.open_cases)
        lines.append(f"Open: {cases}.")
    if last_said:
        words = last_said.split()
        lines.append(
            "Last said: "
            + " ".join(words[:SUMMARY_WORDS])
            + ("…" if len(words) > SUMMARY_WORDS else "")
        )
    if previous.mode in Conversation.HUMAN_MODES:
        lines.append("It was with a person when the customer moved.")
    return "\n".join(lines)
