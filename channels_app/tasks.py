"""Celery tasks of the channels app: delivering outbound messages, retried with backoff, and
settling replies a lost attempt left `sending`."""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from channels_app.outbound import (
    DeliveredNotRecorded,
    Delivery,
    SendFailed,
    delivery_record,
    message_deliver,
    message_fail,
    outbound_stuck_settle,
)
from channels_app.services import inbound_deliveries_unrecorded, inbound_delivery_record

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 600


def retry_delay(retries: int) -> float:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s ... capped at ten minutes."""
    delay: int = min(BACKOFF_BASE_SECONDS * 2**retries, BACKOFF_CAP_SECONDS)
    return delay + random.uniform(0, delay / 4)  # noqa: S311 - jitter, not secrecy


@shared_task(
    bind=True,
    name="channels_app.outbound_deliver",
    acks_late=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=45,
    max_retries=None,
)
def outbound_deliver(
    self: Task[Any, Any], message_id: int, delivered: dict[str, Any] | None = None
) -> str:
    """Deliver one stored outbound message; a provider's refusal or a database hiccup is
    retried with backoff, and after OUTBOUND_MAX_RETRIES the message is marked failed, never
    left `pending`. When the provider took it and only recording its answer failed, the retry
    (`delivered`) records the answer and never sends again."""
    try:
        if delivered is not None:
            answer = Delivery(provider_id=delivered.get("provider_id"), status=delivered["status"])
            backend = str(delivered.get("backend", ""))
            try:
                return delivery_record(
                    message_id=message_id, delivery=answer, backend=backend
                ).delivery_status
            except (OperationalError, InterfaceError) as error:
                raise DeliveredNotRecorded(answer, backend) from error
        message = message_deliver(message_id=message_id)
    except DeliveredNotRecorded as error:
        # Sent: record it again later. If the database stays away past every retry, the
        # message stays `sending` with the provider holding it, and the outbound sweep asks.
        if self.request.retries >= settings.OUTBOUND_MAX_RETRIES:
            logger.error("outbound message #%s sent; recording it failed", message_id)
            return "sending"
        took = {"provider_id": error.delivery.provider_id, "status": error.delivery.status}
        raise self.retry(
            args=(message_id,),
            kwargs={"delivered": {**took, "backend": error.backend}},
            countdown=retry_delay(self.request.retries),
        ) from error
    except (SendFailed, OperationalError, InterfaceError) as error:
        permanent = isinstance(error, SendFailed) and error.permanent
        if permanent or self.request.retries >= settings.OUTBOUND_MAX_RETRIES:
            code = error.code if isinstance(error, SendFailed) else "database"
            return message_fail(message_id=message_id, reason=str(error), code=code).delivery_status
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error
    return message.delivery_status


@shared_task(
    name="channels_app.outbound_sweep",
    acks_late=True,
    ignore_result=True,
    time_limit=120,
    soft_time_limit=100,
)
def outbound_sweep() -> dict[str, int]:
    """Beat: settle replies still `sending` long after their attempt began (recorded as the
    provider has them, delivered once more when it does not, or failed visibly when that
    cannot be known), and deliver the ones put back to `pending`."""
    settled = outbound_stuck_settle()
    for message_id in settled.to_resend:
        outbound_deliver.delay(message_id)
    return settled.counts()


@shared_task(
    bind=True,
    name="channels_app.inbound_record",
    acks_late=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=45,
    max_retries=None,
)
def inbound_record(self: Task[Any, Any], delivery_id: int) -> int | None:
    """Record one stored inbound delivery as a message and hand it to the pipeline; a
    database hiccup is retried with backoff (the delivery stays stored meanwhile)."""
    try:
        message = inbound_delivery_record(delivery_id=delivery_id)
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error
    return message.pk if message is not None else None


@shared_task(
    name="channels_app.inbound_sweep",
    acks_late=True,
    ignore_result=True,
    time_limit=120,
    soft_time_limit=100,
)
def inbound_sweep() -> int:
    """Beat: queue again the stored deliveries not recorded after the grace period."""
    grace = dt.timedelta(seconds=settings.INBOUND_SWEEP_GRACE_SECONDS)
    lost = inbound_deliveries_unrecorded(older_than=grace)
    for delivery_id in lost:
        inbound_record.delay(delivery_id)
    return len(lost)
