"""Channel switches: a customer who moves to another channel finds their open business and a
short handover summary waiting in the new conversation, linked to the one they left.

The switch is carried when the new conversation opens (a call, before its greeting) or at its
first inbound message (SMS, e-mail, before anything answers), so whoever answers first reads it.
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
from memory.selectors.handoffs import channel_switch_into, customer_handoff_open
from memory.services import conversation_record_channel_switch
from orchestrator.intelligence.api import OUT_OF_SCOPE
from orchestrator.models import PipelineRun

if TYPE_CHECKING:
    from memory.context import ContextPack
    from memory.models import ChannelSwitch

HANDOVER = AgentActor(name="handover", scopes=frozenset({Partition.MESSAGES, Partition.BUSINESS}))
SUMMARY_WORDS = 60
# Intents that say nothing about what the customer was doing: not a topic to carry.
_NOT_A_TOPIC = frozenset(
    {OUT_OF_SCOPE, "greeting", "thanks", "goodbye", "speak_to_human", "affirm", "deny"}
)


def channel_switch_carry(*, inbound: Message) -> ChannelSwitch | None:
    """The switch that `inbound` arrived by, carried now if it opens a conversation on another
    channel than the customer's last one (within ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS).

    A conversation carried when it opened (a call, at its greeting) names that switch at its
    first turn. None if no switch, or for a later turn."""
    conversation = inbound.conversation
    if message_has_earlier_inbound(message=inbound):
        return None
    if conversation.previous_id is not None:
        return channel_switch_into(conversation_id=conversation.pk)
    return channel_switch_open(
        conversation=conversation, at=inbound.sent_at, correlation_id=f"message:{inbound.pk}"
    )


def channel_switch_open(
    *, conversation: Conversation, at: dt.datetime, correlation_id: str = ""
) -> ChannelSwitch | None:
    """Carry the open cases, what they were in the middle of and a handover summary into a
    conversation just opened, if the customer's last conversation was on another channel;
    record how long carrying took. Safe to repeat: the switch is recorded once."""
    seen = time.perf_counter()
    if conversation.previous_id is not None:
        return channel_switch_into(conversation_id=conversation.pk)
    window = dt.timedelta(hours=settings.ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS)
    previous = conversation_latest_elsewhere(
        customer_id=conversation.customer_id,
        conversation_id=conversation.pk,
        since=at - window,
    )
    if previous is None or previous.channel == conversation.channel:
        return None
    pack = context_read(
        actor=HANDOVER,
        customer=conversation.customer_id,
        partitions=HANDOVER.scopes,
        purpose=f"hand over conversation #{previous.pk} to {conversation.channel}",
        correlation_id=correlation_id or f"conversation:{conversation.pk}",
    )
    topic = conversation_topic(conversation_id=previous.pk)
    return conversation_record_channel_switch(
        to_conversation=conversation,
        from_conversation=previous,
        handover_summary=handover_summary(pack=pack, previous=previous, topic=topic),
        topic=topic,
        carried_case_ids=[case.case_id for case in pack.open_cases],
        latency_ms=round((time.perf_counter() - seen) * 1000, 2),
    )


def conversation_topic(*, conversation_id: int) -> str:
    """What the customer was in the middle of: the latest intent the orchestrator read in
    the conversation that says something ("appointment_change"); "" if none did."""
    intents = (
        PipelineRun.objects.filter(conversation_id=conversation_id)
        .order_by("-pk")
        .values_list("decision__intent", flat=True)[:20]
    )
    return next((str(i) for i in intents if i and str(i) not in _NOT_A_TOPIC), "")


def handover_summary(*, pack: ContextPack, previous: Conversation, topic: str = "") -> str:
    """A few lines a person or an agent reads first on the new channel."""
    turns = [t for t in pack.turns if t.conversation_id == previous.pk]
    last_said = next((t.text for t in turns if t.direction == Message.Direction.INBOUND), "")
    lines = [
        f"Continued from {previous.get_channel_display()} conversation #{previous.pk}"
        f" ({len(turns)} recent turns, last {previous.last_message_at:%Y-%m-%d %H:%M})."
    ]
    if topic:
        lines.append(f"In the middle of: {topic.replace('_', ' ')}.")
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
    held = customer_handoff_open(customer_id=pack.customer_id)
    if held is not None:
        lines.append(
            f"With people (handoff #{held.pk}, {held.reason}): they answer here too"
            " until a person releases the customer."
        )
    elif previous.mode in Conversation.HUMAN_MODES:
        lines.append("It was with a person when the customer moved.")
    return "\n".join(lines)
