"""Voice: a spoken turn answered within the call's deadline, and the greeting from context."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from memory.actors import AgentActor, Partition
from memory.masked import has_masked_token
from memory.selectors import ContextAccessRefused, context_read
from memory.services.handoffs import customer_hand_off_follow
from orchestrator.handover import channel_switch_open
from orchestrator.models import PipelineRun
from orchestrator.pipeline import inline
from orchestrator.pipeline.values import VoiceReply

if TYPE_CHECKING:
    from memory.context import CaseView, HandoverView
    from memory.models import Conversation


logger = logging.getLogger(__name__)

PLAIN_GREETING = "Thanks for calling. How can I help you today?"
PUT_THROUGH = "I'm putting you through to our team now."
_CHANNEL_WORDS = {
    "sms": "texting us",
    "email": "e-mailing us",
    "voice": "on a call with us",
    "chat": "chatting with us",
}

VOICE_GREETER = AgentActor(
    name="voice-greeter", scopes=frozenset({Partition.PROFILE, Partition.BUSINESS})
)

# Voice turns run here so a slow answer can be abandoned at the deadline and picked up later.
_voice_workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="voice-turn")
# Voice -------------------------------------------------------------------------------------------


def voice_turn_reply(*, message_id: int, deadline_seconds: float) -> VoiceReply:
    """The answer to one spoken turn, if it is ready within `deadline_seconds`.

    The work goes on after the deadline and stores its reply; asking again (the call's
    <Redirect>) then finds it. Asking twice never answers twice: the pipeline run claims.
    """
    answered = voice_reply_found(message_id=message_id)
    if answered is not None:
        return answered
    deadline = time.monotonic() + deadline_seconds
    future = _voice_workers.submit(_voice_turn_work, message_id)
    try:
        future.result(timeout=deadline_seconds)
    except FutureTimeout:
        return VoiceReply(text="", pending=True)
    # Done, or stepped aside for another attempt at the same turn (Twilio retried the webhook,
    # or the <Redirect> came early): wait for that one's answer until the deadline.
    while (found := voice_reply_found(message_id=message_id)) is None:
        if time.monotonic() >= deadline:
            return VoiceReply(text="", pending=True)
        time.sleep(0.05)
    return found


def voice_reply_found(*, message_id: int) -> VoiceReply | None:
    """The stored answer to a spoken turn, or None while it is still being worked out.

    A run that failed, or a conversation already with a person, puts the caller through.
    """
    run = (
        PipelineRun.objects.select_related("reply_message")
        .filter(inbound_message_id=message_id)
        .first()
    )
    if run is None or run.status == PipelineRun.Status.RUNNING:
        return None
    if run.status == PipelineRun.Status.FAILED:
        return VoiceReply(text="", hand_off=True)
    text = run.reply_message.text if run.reply_message is not None else ""
    return VoiceReply(
        text=text, hand_off=run.handed_off or run.status == PipelineRun.Status.WITH_PERSON
    )


def _voice_turn_work(message_id: int) -> None:
    """Run in a worker thread, which owns (and must release) its own database connection."""
    try:
        inline.message_process(message_id=message_id)
    except Exception:
        logger.exception("voice turn for message #%s failed", message_id)
        raise
    finally:
        connection.close()


def call_greeting(
    *, customer_id: int, correlation_id: str = "", conversation: Conversation | None = None
) -> str:
    """Greet a caller with what Rapport knows: their name, and the case they likely call about.

    Given the call's `conversation` (just opened), first carry a channel switch (so the
    handover summary exists before anyone speaks, and the greeting can name what they were
    in the middle of) and keep a customer who is with people with people: their call is
    handed off too, and the greeting says they are being put through.

    A greeter that may not read (quarantined, or its scope narrowed) fails safe: the caller
    still gets a plain greeting and the call goes on; the refusal is audited and supervisors
    see the quarantine at the top of their alerts."""
    held = None
    if conversation is not None:
        try:
            channel_switch_open(
                conversation=conversation,
                at=timezone.now(),
                correlation_id=correlation_id or f"conversation:{conversation.pk}",
            )
        except ContextAccessRefused as refused:
            # No summary is better than no call: the first turn's plan carries it instead.
            logger.warning("handover refused for conversation #%s: %s", conversation.pk, refused)
        held = customer_hand_off_follow(conversation=conversation)
    try:
        context = context_read(
            actor=VOICE_GREETER,
            customer=customer_id,
            partitions=VOICE_GREETER.scopes,
            purpose="greet an inbound caller by name and their open case",
            correlation_id=correlation_id,
        )
    except ContextAccessRefused as refused:
        logger.warning("voice greeter refused for customer #%s: %s", customer_id, refused.reason)
        return PUT_THROUGH if held is not None else PLAIN_GREETING
    name = (
        context.profile.display_name.split()[0]
        if context.profile is not None
        and context.profile.display_name.strip()
        and not has_masked_token(context.profile.display_name)
        else ""
    )
    # A reference the greeter was shown masked is not one it can say.
    speakable = [c for c in context.open_cases if not has_masked_token(c.reference)]
    handover = context.handover
    if handover is not None and conversation is not None:
        handover = handover if handover.to_conversation_id == conversation.pk else None
    if handover is not None:
        carried = [c for c in speakable if c.case_id in handover.carried_case_ids]
        speakable = carried + [c for c in speakable if c not in carried]
    case = speakable[0] if speakable else None
    hello = f"Hi {name}" if name else "Hello"
    if held is not None:
        about = _handover_words(handover, case) if handover is not None else ""
        return f"{hello}, welcome back. {about}{PUT_THROUGH}"
    if handover is not None:
        return f"{hello}, {_handover_words(handover, case)}Is that what you're calling about?"
    if name and case:
        return f"Hi {name}, are you calling about {case.kind} {case.reference}?"
    if case:
        return f"Hello, are you calling about {case.kind} {case.reference}?"
    if name:
        return f"Hi {name}, thanks for calling. How can I help you today?"
    return PLAIN_GREETING


def _handover_words(handover: HandoverView, case: CaseView | None) -> str:
    """What they were in the middle of, from what the greeter may read: the channel they
    came from, the orchestrator's label for it, the case carried over. Never their words."""
    channel = _CHANNEL_WORDS.get(handover.from_channel, f"in touch by {handover.from_channel}")
    topic = f" about your {handover.topic.replace('_', ' ')}" if handover.topic else ""
    on_case = f" on {case.kind} {case.reference}" if case is not None else ""
    return f"I can see you were just {channel}{topic}{on_case}. "
