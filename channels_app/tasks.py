"""Celery tasks of the channels app: delivering outbound messages, retried with backoff."""

from __future__ import annotations

import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from channels_app.outbound import SendFailed, message_deliver, message_fail

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
def outbound_deliver(self: Task[Any, Any], message_id: int) -> str:
    """Deliver one stored outbound message; a provider's refusal or a database hiccup is
    retried with backoff, and after OUTBOUND_MAX_RETRIES the message is marked failed, never
    left `pending`."""
    try:
        message = message_deliver(message_id=message_id)
    except (SendFailed, OperationalError, InterfaceError) as error:
        permanent = isinstance(error, SendFailed) and error.permanent
        if permanent or self.request.retries >= settings.OUTBOUND_MAX_RETRIES:
            code = error.code if isinstance(error, SendFailed) else "database"
            return message_fail(message_id=message_id, reason=str(error), code=code).delivery_status
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error
    return message.delivery_status
