"""Response clocks (SLA): a promise to answer a waiting customer in time, started when the
customer waits for a person and stopped when a person answers or gives the conversation back.
The target comes from the most specific SLA plan in the admin (channel, customer tier, intent);
the SLA_*_RESPONSE_SECONDS settings are the default when no plan matches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memory.events import SlaBreached, SlaStarted, publish
from memory.selectors import (
    conversation_answered_by_person_since,
    fact_find_current,
    handoff_open_for,
)
from memory.selectors.work import conversations_snoozed
from orchestrator.models import PipelineRun, ResponseClock, SlaPlan

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
        if handoff is None or conversation.status == conversation.Status.CLOSED:
            return None  # nobody due to answer, or the call already ended
        running = ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).first()
        if running is not None:
            from orchestrator.people.work import conversation_wake_on_customer_turn

            conversation_wake_on_customer_turn(conversation=conversation)  # a paused clock
            running.refresh_from_db()
            return running
        answered_before = conversation_answered_by_person_since(
            conversation=conversation, since=handoff.created_at
        )
        kind = ResponseClock.Kind.NEXT if answered_before else ResponseClock.Kind.FIRST
        target = response_target(conversation=conversation, kind=kind)
        clock = ResponseClock.objects.create(
            conversation=conversation,
            handoff=handoff,
            kind=kind,
            channel=conversation.channel,
            started_at=waiting_since,
            due_at=waiting_since + dt.timedelta(seconds=target.seconds),
            agent_id=handoff.assigned_to_id,
            plan=target.plan,
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


@dataclass(frozen=True)
class ResponseTarget:
    """How long a person has to answer, and the plan that said so (None: the settings)."""

    seconds: int
    plan: SlaPlan | None


TIER_FACT_KEY = "tier"


def response_target(*, conversation: Conversation, kind: str) -> ResponseTarget:
    """The target for a clock on this conversation: the most specific enabled plan whose
    channel, tier and intent all match (blank matches any; equal specificity: lowest order),
    else the per-channel settings. Tier and intent are looked up only if a plan names one."""
    plans = list(
        SlaPlan.objects.filter(enabled=True, channel__in=["", conversation.channel]).order_by(
            "order", "pk"
        )
    )
    tier = intent = ""
    if any(plan.customer_tier for plan in plans):
        fact = fact_find_current(customer_id=conversation.customer_id, key=TIER_FACT_KEY)
        tier = fact.value.strip().casefold() if fact is not None else ""
    if any(plan.intent for plan in plans):
        intent = conversation_intent(conversation_id=conversation.pk)
    matching = [
        plan
        for plan in plans
        if (not plan.customer_tier or plan.customer_tier.strip().casefold() == tier)
        and (not plan.intent or plan.intent == intent)
    ]
    if matching:
        plan = max(matching, key=lambda p: (p.specificity, -p.order, -p.pk))
        seconds = (
            plan.next_response_seconds
            if kind == ResponseClock.Kind.NEXT
            else plan.first_response_seconds
        )
        return ResponseTarget(seconds=seconds, plan=plan)
    targets = (
        settings.SLA_NEXT_RESPONSE_SECONDS
        if kind == ResponseClock.Kind.NEXT
        else settings.SLA_FIRST_RESPONSE_SECONDS
    )
    return ResponseTarget(seconds=int(targets.get(conversation.channel, 600)), plan=None)


def conversation_intent(*, conversation_id: int) -> str:
    """The intent the pipeline read in the conversation's latest finished run ("" if none)."""
    decision = (
        PipelineRun.objects.filter(conversation_id=conversation_id)
        .exclude(status=PipelineRun.Status.RUNNING)
        .order_by("-started_at", "-pk")
        .values_list("decision", flat=True)
        .first()
    )
    return str((decision or {}).get("intent") or "")


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
        for clock in (
            ResponseClock.objects.select_for_update(skip_locked=True)
            .filter(state=ResponseClock.State.RUNNING, due_at__lt=now, breached_at__isnull=True)
            .exclude(conversation__in=conversations_snoozed(now=now).values("pk"))
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
