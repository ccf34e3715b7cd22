"""Celery tasks of the orchestrator: each inbound message is processed once, after commit."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from orchestrator.pipeline import message_process


@shared_task(
    name="orchestrator.message_process_inbound",
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def message_process_inbound(message_id: int) -> int | None:
    """Answer one inbound message; running twice answers once (the pipeline claims the reply).

    Returns the reply's message id, or None when there was nothing (more) to answer.
    """
    reply = message_process(message_id=message_id)
    return reply.message_id if reply is not None else None
