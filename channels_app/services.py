"""What the channel webhooks do: store each delivery once, then hand it on after commit.

Each service runs in one transaction, claims its idempotency key there (a unique constraint,
never process memory), and enqueues follow-up work with `transaction.on_commit`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from channels_app.delivery import delivery_status_advance
from channels_app.models import InboundDelivery, WebhookReceipt
from memory.identities import InvalidAddress, identity_kind_for_channel, normalize_identity
from memory.models import Channel, Conversation, Message
from memory.selectors import (
    conversation_open_for_thread,
    email_thread_key_find,
    message_find,
    message_find_by_provider_id,
)
from memory.services import (
    InboundRecord,
    conversation_get_or_open,
    conversation_go_quiet,
    customer_resolve,
    message_record_inbound,
    message_record_outbound,
)
from orchestrator.intelligence.names import CLOSING, looks_like_a_name_line
from orchestrator.models import ResponseClock
from orchestrator.people.clocks import response_clock_stop
from orchestrator.pipeline import VoiceReply, call_greeting, voice_turn_reply

if TYPE_CHECKING:
    from channels_app.inbound_email import InboundEmail

logger = logging.getLogger(__name__)

CALL_ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def receipt_claim(*, source: str, key: str) -> bool:
    """Claim a provider delivery inside the caller's transaction; False if it was seen before.

    One statement (`ON CONFLICT DO NOTHING`, which PostgreSQL and SQLite both speak): the
    unique constraint decides, with no savepoint around an insert that may fail. The row is
    an idempotency key, not graph data, so no audit entry is missed by skipping the ORM save.
    """
    quote = connection.ops.quote_name
    table, source_column, key_column, at_column = (
        quote(name) for name in (WebhookReceipt._meta.db_table, "source", "key", "received_at")
    )
    claim = (
        f"INSERT INTO {table} ({source_column}, {key_column}, {at_column}) "  # noqa: S608 - our names
        f"VALUES (%s, %s, %s) ON CONFLICT ({source_column}, {key_column}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(claim, [source, key[:300], timezone.now()])
        inserted: int = cursor.rowcount
    return inserted == 1


def _message_hand_off(message: Message) -> None:
    """After commit, give a new inbound message to the orchestrator's queue.

    Robust: the message is already stored, so a broker hiccup is logged rather than turned
    into an error answer that would make the provider deliver it again.
    """
    from orchestrator.tasks import message_process_inbound

    transaction.on_commit(lambda: message_process_inbound.delay(message.pk), robust=True)


# SMS ------------------------------------------------------------------------------------------


def sms_accept(
    *,
    message_sid: str,
    sender: str,
    recipient: str,
    body: str,
    media: list[dict[str, str]] | None = None,
    idempotency_token: str = "",
) -> bool:
    """Store an inbound SMS as it arrived (once per MessageSid and idempotency token) and,
    after commit, queue it to be recorded: the webhook's whole job before it answers, one
    transaction and one enqueue. False for a delivery seen before.

    The sender is normalised here, so an address that can never be an identity is still a
    400 to Twilio rather than a message that fails on the worker.
    """
    normalize_identity(identity_kind_for_channel(Channel.SMS), sender)
    fields: dict[str, Any] = {"from": sender, "to": recipient, "body": body}
    if media:
        fields["media"] = media
    with transaction.atomic():
        if idempotency_token and not receipt_claim(
            source=WebhookReceipt.Source.TWILIO_IDEMPOTENCY_TOKEN, key=idempotency_token
        ):
            return False
        delivery_id = inbound_delivery_store(
            channel=Channel.SMS, provider_id=message_sid, fields=fields
        )
        if delivery_id is None:
            return False
        transaction.on_commit(lambda: _delivery_hand_off(delivery_id))
    return True


def inbound_delivery_store(*, channel: str, provider_id: str, fields: dict[str, Any]) -> int | None:
    """Insert one inbound delivery in a single statement; None when its id was seen before."""
    quote = connection.ops.quote_name
    table = quote(InboundDelivery._meta.db_table)
    columns = ", ".join(
        quote(name) for name in ("channel", "provider_id", "fields", "received_at", "refused")
    )
    unique = f"{quote('channel')}, {quote('provider_id')}"
    insert = (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, '') "  # noqa: S608 - our names
        f"ON CONFLICT ({unique}) DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [channel, provider_id[:100], json.dumps(fields), timezone.now()])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _delivery_hand_off(delivery_id: int) -> None:
    """After commit: queue the delivery to be recorded. With the broker away, record it here
    and now instead (the message is then stored, and the pipeline sweeper hands it on once
    the broker is back), so what Twilio was told is stored is a message within the request."""
    from channels_app.tasks import inbound_record

    try:
        inbound_record.delay(delivery_id)
    except Exception:  # noqa: BLE001 - any broker failure: the delivery is stored either way
        logger.warning(
            "inbound delivery #%s: queue unavailable, recorded in the request", delivery_id
        )
        inbound_delivery_record(delivery_id=delivery_id)


def inbound_delivery_record(*, delivery_id: int) -> Message | None:
    """Record a stored delivery as an inbound message (customer, conversation, audit entry)
    and hand the message to the orchestrator after commit. Idempotent: a delivery recorded
    before, or a message with its provider id stored by another path, is not recorded again.
    An address that cannot be an identity marks the delivery refused (no retry helps)."""
    with transaction.atomic():
        delivery = InboundDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.recorded_at is not None:
            return None
        fields = delivery.fields
        metadata: dict[str, Any] = {"from": fields["from"], "to": fields["to"]}
        if fields.get("media"):
            metadata["media"] = fields["media"]
        try:
            record = message_record_inbound(
                channel=delivery.channel,
                sender=fields["from"],
                recipient=fields["to"],
                text=fields.get("body", ""),
                provider_id=delivery.provider_id,
                sent_at=delivery.received_at,
                metadata=metadata,
            )
        except InvalidAddress as error:
            delivery.refused = str(error)[:200]
            record = None
        delivery.recorded_at = timezone.now()
        delivery.fields = {}
        delivery.save(update_fields=["recorded_at", "fields", "refused"])
        if record is None:
            return None
        if record.created:
            _message_hand_off(record.message)
    return record.message


def inbound_deliveries_unrecorded(*, older_than: dt.timedelta, limit: int = 500) -> list[int]:
    """Deliveries stored at least `older_than` ago and still not recorded (their queued task
    was lost with the broker or a worker), oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        InboundDelivery.objects.filter(recorded_at__isnull=True, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def sms_receive(
    *,
    message_sid: str,
    sender: str,
    recipient: str,
    body: str,
    media: list[dict[str, str]] | None = None,
    idempotency_token: str = "",
) -> InboundRecord:
    """Store an inbound SMS once (by MessageSid and Twilio's idempotency token) in the
    customer's SMS conversation, and queue it for the orchestrator after commit.
    """
    with transaction.atomic():
        if idempotency_token and not receipt_claim(
            source=WebhookReceipt.Source.TWILIO_IDEMPOTENCY_TOKEN, key=idempotency_token
        ):
            existing = message_find_by_provider_id(channel=Channel.SMS, provider_id=message_sid)
            if existing is not None:
                return InboundRecord(message=existing, created=False)
        metadata: dict[str, Any] = {"from": sender, "to": recipient}
        if media:
            metadata["media"] = media
        record = message_record_inbound(
            channel=Channel.SMS,
            sender=sender,
            recipient=recipient,
            text=body,
            provider_id=message_sid,
            metadata=metadata,
        )
        if record.created:
            _message_hand_off(record.message)
    return record


def sms_status_record(
    *, message_sid: str, status: str, error_code: str = "", message_id: int | None = None
) -> Message | None:
    """Apply one Twilio status callback once per (MessageSid, status).

    `message_id` comes from our own status-callback URL, so a callback that beats the send
    task's write of the MessageSid still finds its message.
    """
    with transaction.atomic():
        if not receipt_claim(
            source=WebhookReceipt.Source.SMS_STATUS, key=f"{message_sid}:{status}"
        ):
            return None
        target = None
        if message_id is not None:
            target = message_find(message_id=message_id, channel=Channel.SMS)
        return delivery_status_advance(
            message=target,
            channel=Channel.SMS,
            provider_id=message_sid,
            status=status,
            error_code=error_code,
            set_provider_id=target is not None,
        )


# Voice ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallAnswer:
    """The call's conversation and what to greet the caller with."""

    conversation: Conversation
    greeting: str


def call_answer(*, call_sid: str, caller: str, called: str) -> CallAnswer:
    """Open (or continue, on a retried webhook) the call's conversation and greet the caller
    with what Rapport knows; the greeting is stored once as the call's first agent turn.
    """
    with transaction.atomic():  # a failed answer leaves no customer or conversation behind
        customer = customer_resolve(channel=Channel.VOICE, address=caller)
        conversation = conversation_get_or_open(
            customer=customer,
            channel=Channel.VOICE,
            thread_key=call_sid,
            metadata={"call_sid": call_sid, "from": caller, "to": called},
        )
        greeting_id = f"{call_sid}:greeting"
        existing = message_find_by_provider_id(channel=Channel.VOICE, provider_id=greeting_id)
        if existing is not None:
            return CallAnswer(conversation=conversation, greeting=existing.text)
        greeting = call_greeting(
            customer_id=conversation.customer_id,
            correlation_id=f"conversation:{conversation.pk}",
            conversation=conversation,
        )
        try:
            with transaction.atomic():
                message_record_outbound(
                    conversation=conversation,
                    text=greeting,
                    author=Message.Author.AGENT,
                    author_agent="voice-greeter",
                    provider_id=greeting_id,
                    delivery_status=Message.DeliveryStatus.SENT,
                )
        except IntegrityError:
            stored = message_find_by_provider_id(channel=Channel.VOICE, provider_id=greeting_id)
            if stored is None:
                raise
            greeting = stored.text
    return CallAnswer(conversation=conversation, greeting=greeting)


def call_turn_record(
    *, call_sid: str, turn: int, caller: str, called: str, speech: str, confidence: float | None
) -> InboundRecord:
    """Store what the caller said in one turn, once per CallSid and turn number.

    Nothing is queued: a call cannot wait for a queue, so the voice path answers in-request.
    One transaction: a failed turn leaves no customer or identity behind.
    """
    with transaction.atomic():
        return message_record_inbound(
            channel=Channel.VOICE,
            sender=caller,
            recipient=called,
            text=speech,
            provider_id=f"{call_sid}:{turn}",
            thread_key=call_sid,
            metadata={
                "call_sid": call_sid,
                "turn": turn,
                "confidence": confidence,
                "from": caller,
                "to": called,
            },
        )


def call_close(
    *, call_sid: str, call_status: str, duration_seconds: int | None
) -> Conversation | None:
    """Apply a call status callback once; an ended call closes its conversation with duration
    and stops the call's response clock: nobody can answer a caller who hung up, so it must
    not turn into a "first response overdue". The customer's handoff stays open (it belongs to
    the customer across channels: their next SMS or e-mail is still a person's to answer)."""
    with transaction.atomic():
        if not receipt_claim(
            source=WebhookReceipt.Source.CALL_STATUS, key=f"{call_sid}:{call_status}"
        ):
            return None
        conversation = conversation_open_for_thread(channel=Channel.VOICE, thread_key=call_sid)
        if conversation is None or call_status not in CALL_ENDED_STATUSES:
            return conversation
        conversation = conversation_go_quiet(
            conversation=conversation,
            status=Conversation.Status.CLOSED,
            metadata={"call_status": call_status, "duration_seconds": duration_seconds},
        )
        response_clock_stop(
            conversation=conversation, state=ResponseClock.State.RELEASED, user=None
        )
    return conversation


# E-mail ---------------------------------------------------------------------------------------


def email_thread_key(*, email: InboundEmail) -> str:
    """The root Message-ID of the thread this e-mail belongs to.

    A reply to a message Rapport holds (inbound, or a reply we sent) joins that message's
    thread; otherwise the first of References names the root, or the e-mail starts one.
    """
    referenced = [email.in_reply_to, *reversed(email.references)]
    known = [ref for ref in referenced if ref]
    if known:
        conversation_key = email_thread_key_find(provider_ids=known)
        if conversation_key:
            return conversation_key
    if email.references:
        return email.references[0]
    return email.in_reply_to or email.message_id


def email_receive(*, email: InboundEmail, received_at: dt.datetime | None = None) -> InboundRecord:
    """Store an inbound e-mail once (by Message-ID) in its thread's conversation, keeping the
    raw text and giving agents the new part, then queue it for the orchestrator after commit.
    """
    with transaction.atomic():
        record = message_record_inbound(
            channel=Channel.EMAIL,
            sender=email.sender,
            recipient=email.recipient,
            text=email.new_text,
            raw_text=email.raw_text,
            provider_id=email.message_id,
            thread_key=email_thread_key(email=email),
            subject=email.subject,
            sent_at=received_at,
            display_name=email.sender_name or signed_full_name(email.sign_off),
            metadata=email.metadata(),
        )
        if record.created:
            _message_hand_off(record.message)
    return record


def signed_full_name(sign_off: str) -> str:
    """The full name an e-mail is signed with ("Thanks,\nBram Pettersen\nParalegal"), for a
    sender whose From header gives none: the first line under the closing that is only a first
    and last name. A first name alone says too little about who wrote to count."""
    lines = [line.strip() for line in sign_off.splitlines() if line.strip()]
    for index, line in enumerate(lines[:4]):
        if CLOSING.match(line):
            continue
        words = line.rstrip(",.").split()
        if 2 <= len(words) <= 3 and looks_like_a_name_line(line):
            return " ".join(words)
        if index > 0:
            break
    return ""


@dataclass(frozen=True)
class CallTurn:
    """A spoken turn as stored, and what to answer on the call now."""

    message: Message
    reply: VoiceReply


def call_turn_answer(
    *,
    call_sid: str,
    turn: int,
    caller: str,
    called: str,
    speech: str,
    confidence: float | None,
    deadline_seconds: float,
) -> CallTurn:
    """Store the caller's turn once and get the voice path's answer within the deadline."""
    record = call_turn_record(
        call_sid=call_sid,
        turn=turn,
        caller=caller,
        called=called,
        speech=speech,
        confidence=confidence,
    )
    if record.message.conversation.mode in Conversation.HUMAN_MODES:
        # With people: put the caller through now; the turn is processed like any message
        # (memory, the person's screen) by the queue, without a bot answer to wait for.
        if record.created:
            with transaction.atomic():
                _message_hand_off(record.message)
        return CallTurn(message=record.message, reply=VoiceReply(text="", hand_off=True))
    reply = voice_turn_reply(message_id=record.message.pk, deadline_seconds=deadline_seconds)
    return CallTurn(message=record.message, reply=reply)


def call_turn_pickup(*, call_sid: str, turn: int, deadline_seconds: float) -> VoiceReply | None:
    """The answer to a turn whose reply was not ready in time; None for a turn never stored."""
    message = message_find_by_provider_id(channel=Channel.VOICE, provider_id=f"{call_sid}:{turn}")
    if message is None:
        return None
    return voice_turn_reply(message_id=message.pk, deadline_seconds=deadline_seconds)
