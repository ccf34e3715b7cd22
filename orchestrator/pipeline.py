"""The orchestrator's first responder: a deliberately small first version of the pipeline.

It reads what it may through the gate, answers from a template filled only from that context,
and hands the customer to a person when they ask for one. The multi-agent pipeline and the
intent and sentiment models replace the template later; the entry points stay.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from channels_app.outbound import send
from memory.actors import AgentActor, Partition
from memory.context import ContextPack
from memory.models import Message
from memory.selectors import context_read
from memory.services import conversation_hand_off
from orchestrator.models import InboundReply

logger = logging.getLogger(__name__)

FIRST_RESPONDER = AgentActor(
    name="first-responder", scopes=frozenset({Partition.PROFILE, Partition.BUSINESS})
)
VOICE_GREETER = AgentActor(
    name="voice-greeter", scopes=frozenset({Partition.PROFILE, Partition.BUSINESS})
)

_ASKS_FOR_A_PERSON = re.compile(
    r"\b(agent|human|representative|real person|operator|"
    r"(speak|talk) (to|with) (someone|somebody|a person|a manager|your manager))\b",
    re.IGNORECASE,
)

# Voice turns run here so a slow answer can be abandoned at the deadline and picked up later.
_voice_workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="voice-turn")


@dataclass(frozen=True)
class Reply:
    """What the orchestrator answered to one inbound message."""

    message_id: int
    text: str
    hand_off: bool


@dataclass(frozen=True)
class VoiceReply:
    """What to say on the call now; `pending` when the answer was not ready by the deadline."""

    text: str
    hand_off: bool = False
    pending: bool = False


def asks_for_a_person(text: str) -> bool:
    """Whether the customer asked to be put through to a human."""
    return bool(_ASKS_FOR_A_PERSON.search(text))


def message_process(*, message_id: int) -> Reply | None:
    """Answer one inbound message, at most once: None if it was answered already.

    The InboundReply row is claimed in the same transaction as the reply is stored, so a
    task that runs twice (acks late, a redelivery) finds the claim and sends nothing.
    """
    inbound = (
        Message.objects.select_related("conversation")
        .only("pk", "text", "channel", "direction", "customer_id", "conversation__mode")
        .get(pk=message_id)
    )
    if inbound.direction != Message.Direction.INBOUND:
        return None
    if InboundReply.objects.filter(inbound_message_id=message_id).exists():
        return None
    if not inbound.conversation.automation_may_reply:
        return None
    hand_off = asks_for_a_person(inbound.text)
    context = context_read(
        actor=FIRST_RESPONDER,
        customer=inbound.customer_id,
        partitions=FIRST_RESPONDER.scopes,
        purpose=f"acknowledge inbound {inbound.channel} message #{inbound.pk}",
        correlation_id=f"message:{inbound.pk}",
    )
    text = handoff_text(context) if hand_off else acknowledgement_text(context)
    try:
        with transaction.atomic():
            claim = InboundReply.objects.create(
                inbound_message=inbound, handed_off=hand_off, responder=FIRST_RESPONDER.name
            )
            reply = send(
                conversation=inbound.conversation,
                text=text,
                author_agent=FIRST_RESPONDER.name,
                in_reply_to=inbound,
            )
            claim.reply_message = reply
            claim.save(update_fields=["reply_message"])
            if hand_off:
                conversation_hand_off(
                    conversation=inbound.conversation,
                    reason="the customer asked for a person",
                    requested_by="customer",
                    trigger_message=inbound,
                )
    except IntegrityError:
        logger.info("message #%s was answered by another run", message_id)
        return None
    return Reply(message_id=reply.pk, text=text, hand_off=hand_off)


def voice_turn_reply(*, message_id: int, deadline_seconds: float) -> VoiceReply:
    """The answer to one spoken turn, if it is ready within `deadline_seconds`.

    The work goes on after the deadline and stores its reply; asking again (the call's
    <Redirect>) then finds it. Asking twice never answers twice: `message_process` claims.
    """
    answered = voice_reply_found(message_id=message_id)
    if answered is not None:
        return answered
    future = _voice_workers.submit(_voice_turn_work, message_id)
    try:
        future.result(timeout=deadline_seconds)
    except FutureTimeout:
        return VoiceReply(text="", pending=True)
    return voice_reply_found(message_id=message_id) or VoiceReply(text="", pending=True)


def voice_reply_found(*, message_id: int) -> VoiceReply | None:
    """The stored answer to a spoken turn, or None while it is still being worked out."""
    claim = (
        InboundReply.objects.select_related("reply_message")
        .filter(inbound_message_id=message_id)
        .first()
    )
    if claim is None:
        return None
    text = claim.reply_message.text if claim.reply_message is not None else ""
    return VoiceReply(text=text, hand_off=claim.handed_off)


def _voice_turn_work(message_id: int) -> None:
    """Run in a worker thread, which owns (and must release) its own database connection."""
    try:
        message_process(message_id=message_id)
    except Exception:
        logger.exception("voice turn for message #%s failed", message_id)
        raise
    finally:
        connection.close()


def call_greeting(*, customer_id: int, correlation_id: str = "") -> str:
    """Greet a caller with what Rapport knows: their name, and the case they likely call about."""
    context = context_read(
        actor=VOICE_GREETER,
        customer=customer_id,
        partitions=VOICE_GREETER.scopes,
        purpose="greet an inbound caller by name and their open case",
        correlation_id=correlation_id,
    )
    name = _first_name(context)
    case = context.open_cases[0] if context.open_cases else None
    if name and case:
        return f"Hi {name}, are you calling about {case.kind} {case.reference}?"
    if case:
        return f"Hello, are you calling about {case.kind} {case.reference}?"
    if name:
        return f"Hi {name}, thanks for calling. How can I help you today?"
    return "Thanks for calling. How can I help you today?"


def acknowledgement_text(context: ContextPack) -> str:
    """Acknowledge the message, with the customer's name and open case when the context has them."""
    name = _first_name(context)
    greeting = f"Hi {name}, thanks" if name else "Thanks"
    case = context.open_cases[0] if context.open_cases else None
    about = f" about {case.kind} {case.reference}" if case else ""
    return f"{greeting} for your message{about}. We have it and will get back to you shortly."


def handoff_text(context: ContextPack) -> str:
    name = _first_name(context)
    return (
        f"{'Of course, ' + name if name else 'Of course'}. "
        "I'm connecting you with a member of our team now."
    )


def _first_name(context: ContextPack) -> str:
    if context.profile is None or not context.profile.display_name:
        return ""
    return context.profile.display_name.split()[0]
