"""Celery tasks of the console: routing a conversation that waits for a person, and the beat
sweep that escalates answers past their target and catches up on the queue."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from channels_app.console import services
from memory.models import Conversation


@shared_task(
    name="console.conversation_waiting",
    acks_late=True,
    time_limit=30,
    soft_time_limit=25,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def conversation_waiting(conversation_id: int, waiting_since: str) -> int | None:
    """Start the waiting customer's response clock and hand the queue out; the clock's id.

    Idempotent: one running clock per conversation is a unique constraint.
    """
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return None
    clock = services.response_clock_start(
        conversation=conversation, waiting_since=dt.datetime.fromisoformat(waiting_since)
    )
    services.queue_assign_waiting()
    return clock.pk if clock is not None else None


@shared_task(name="console.sla_sweep", acks_late=True, time_limit=60, soft_time_limit=50)
def sla_sweep() -> int:
    """Beat: alert supervisors of every answer past its target (once), then hand out any
    handoff still waiting for an agent with room."""
    escalated = services.sla_breaches_escalate()
    services.queue_assign_waiting()
    return len(escalated)
