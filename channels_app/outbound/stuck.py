"""Replies left `sending`: an attempt claimed them and never recorded an end (its worker was
killed mid-send, or the database dropped the provider's answer and every retry of recording
it failed). Whether the customer got it is unknown, so such a reply is never simply sent
again: it is settled by what is known.

- It has a provider id: the provider took it; it is `sent` (the status callback was lost).
- Its backend can ask the provider (`find_sent`, Twilio's message list): found, it is
  recorded as the provider has it; not found, it goes back to `pending` and is delivered once
  (the claim keeps it once); the provider unreachable, it waits for the next sweep.
- Its backend cannot ask (SMTP, the console): `failed`, saying the outcome is unknown, for a
  person to check and resend; never a second copy.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from channels_app import outbound
from channels_app.outbound.backends import Delivery, SendFailed
from memory.models import Message
from memory.selectors import outbound_messages_sending_between
from memory.services import message_delivery_requeue

logger = logging.getLogger(__name__)

OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass
class StuckSettled:
    """What one sweep did with the replies it found stuck `sending`."""

    recorded: list[int] = field(default_factory=list)  # the provider had it
    to_resend: list[int] = field(default_factory=list)  # back to `pending`, to deliver once
    failed: list[int] = field(default_factory=list)  # outcome unknown, for a person
    waiting: list[int] = field(default_factory=list)  # the provider could not be asked

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in vars(self).items()}


def claimed_at(message: Message) -> dt.datetime:
    """When the message's last attempt began (its claim), else when it was stored."""
    stamp = message.channel_metadata.get("claimed_at")
    if isinstance(stamp, str):
        try:
            parsed = dt.datetime.fromisoformat(stamp)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return message.created_at


def outbound_stuck_settle(*, now: dt.datetime | None = None, limit: int = 200) -> StuckSettled:
    """Settle every reply whose attempt began more than OUTBOUND_SENDING_STUCK_SECONDS ago (past
    the delivery task's time limit, so no attempt is still running) and is still `sending`."""
    now = now or timezone.now()
    stuck_before = now - dt.timedelta(seconds=settings.OUTBOUND_SENDING_STUCK_SECONDS)
    settled = StuckSettled()
    candidates = outbound_messages_sending_between(
        since=now - dt.timedelta(hours=settings.PIPELINE_SWEEP_LOOKBACK_HOURS),
        until=stuck_before,
        limit=limit,
    )
    for message in candidates:
        began = claimed_at(message)
        if began >= stuck_before:
            continue  # a later attempt, maybe still running
        _settle(message, began, settled)
    if any(settled.counts().values()):
        logger.warning("outbound sweep: replies stuck sending settled %s", settled.counts())
    return settled


def _settle(message: Message, began: dt.datetime, settled: StuckSettled) -> None:
    if message.provider_id:
        outbound.delivery_record(
            message_id=message.pk,
            delivery=Delivery(provider_id=message.provider_id, status=Message.DeliveryStatus.SENT),
            backend=str(message.channel_metadata.get("backend", "")),
        )
        settled.recorded.append(message.pk)
        return
    backend = outbound.backend_for(message.channel)
    find_sent = getattr(backend, "find_sent", None)
    if find_sent is None:
        outbound.message_fail(
            message_id=message.pk,
            reason=(
                f"delivery outcome unknown: an attempt through {backend.name} began at "
                f"{began:%Y-%m-%d %H:%M:%S} UTC and never ended (worker lost mid-send); not sent "
                "again so the customer never gets it twice. Check and resend by hand."
            ),
            code=OUTCOME_UNKNOWN,
        )
        settled.failed.append(message.pk)
        return
    try:
        found: Delivery | None = find_sent(
            message=message, addressing=outbound.addressing_for(message), since=began
        )
    except SendFailed as error:
        logger.warning(
            "outbound sweep: could not ask %s about #%s: %s", backend.name, message.pk, error
        )
        settled.waiting.append(message.pk)
        return
    if found is not None:
        outbound.delivery_record(message_id=message.pk, delivery=found, backend=backend.name)
        settled.recorded.append(message.pk)
        return
    requeued = message_delivery_requeue(
        message_id=message.pk,
        error=f"attempt begun {began.isoformat()} never ended; {backend.name} does not have it",
    )
    if requeued.delivery_status == Message.DeliveryStatus.PENDING:
        settled.to_resend.append(message.pk)
