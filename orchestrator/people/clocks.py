"""Response clocks (SLA): a promise to answer a waiting customer in time, started when the
customer waits for a person and stopped when a person answers or gives the conversation back."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memory.events import SlaBreached, SlaStarted, publish
from memory.selectors import conversation_answered_by_person_since, handoff_open_for
from orchestrator.models import ResponseClock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Conversation


def response_clock_start(
    *, conversation: Conversation, waiting_since: dt.datetime
) -> ResponseClock | None:
    """Start the clock on a customer waiting for a person: the first answer of a handoff, or
    the next one once a person has answered. None when nobody is due to answer."""
    with transaction.atomic():
        handoff = handoff_open_for(conversation=conversation, lock=True)
        if handoff is None:
            return None
        running = ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).first()
        if running is not None:
            return running
        answered_before = conversation_answered_by_person_since(
            conversation=conversation, since=handoff.created_at
        )
        kind = ResponseClock.Kind.NEXT if answered_before else ResponseClock.Kind.FIRST
        targets = (
            settings.SLA_NEXT_RESPONSE_SECONDS
            if answered_before
            else settings.SLA_FIRST_RESPONSE_SECONDS
        )
        seconds = targets.get(conversation.channel, 600)
        clock = ResponseClock.objects.create(
            conversation=conversation,
            handoff=handoff,
            kind=kind,
            channel=conversation.channel,
            started_at=waiting_since,
            due_at=waiting_since + dt.timedelta(seconds=seconds),
            agent_id=handoff.assigned_to_id,
        )
        publish(
            SlaStarted(
                conversation_id=conversation.pk,
                agent_ids=(clock.agent_id,),
                kind=clock.kind,
                due_at=clock.due_at.isoformat(),
            )
        )
    return clock


def response_clock_stop(*, conversation: Conversation, state: str, user: User | None) -> None:
    """Stop the conversation's running clock: answered (by `user`) or released."""
    for clock in ResponseClock.objects.select_for_update().filter(
        conversation=conversation, state=ResponseClock.State.RUNNING
    ):
        clock.state = state
        fields = ["state"]
        if state == ResponseClock.State.ANSWERED:
            clock.answered_at, clock.agent = timezone.now(), user
            fields += ["answered_at", "agent"]
        clock.save(update_fields=fields)


def conversation_waiting_notify(*, conversation_id: int, waiting_since: dt.datetime) -> None:
    """After commit, start the conversation's clock and route the queue (in a task)."""
    from orchestrator.tasks import conversation_waiting

    transaction.on_commit(
        lambda: conversation_waiting.delay(conversation_id, waiting_since.isoformat()),
        robust=True,
    )


def sla_breaches_escalate(*, now: dt.datetime | None = None) -> list[ResponseClock]:
    """Alert supervisors (and the agent holding it) once for each answer past its target."""
    now = now or timezone.now()
    escalated: list[ResponseClock] = []
    with transaction.atomic():
        for clock in ResponseClock.objects.select_for_update(skip_locked=True).filter(
            state=ResponseClock.State.RUNNING, due_at__lt=now, breached_at__isnull=True
        ):
            clock.breached_at = now
            clock.save(update_fields=["breached_at"])
            publish(
                SlaBreached(
                    conversation_id=clock.conversation_id,
                    agent_ids=(clock.agent_id,),
                    kind=clock.kind,
                    channel=clock.channel,
                    due_at=clock.due_at.isoformat(),
                    overdue_seconds=round((now - clock.due_at).total_seconds()),
                )
            )
            escalated.append(clock)
    return escalated
