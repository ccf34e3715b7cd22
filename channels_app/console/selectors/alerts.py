"""What a supervisor should look at on the queue page, grouped: handoffs waiting, answers
past their target, actors quarantined, agents kept off or failing. Conversations that ended
(a call hung up) raise nothing: nobody can answer them any more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from memory.models import Conversation
from memory.selectors.work import conversations_snoozed, handoffs_waiting_live
from memory.watch import quarantines_active
from orchestrator.models import AgentConfig, AgentRun, ResponseClock

# The groups, in the order a supervisor should read them.
GROUPS: dict[str, str] = {
    "handoff": "Handoffs waiting",
    "sla": "Answers overdue",
    "quarantine": "Quarantined",
    "agent": "Agents",
}


@dataclass(frozen=True)
class Alert:
    """Something a supervisor should look at: a handoff, an overdue answer, a blocked agent."""

    kind: str
    title: str
    detail: str
    at: dt.datetime | None = None
    conversation_id: int | None = None
    # Filled from the page's one gate read, as the person's scope allows.
    customer_name: str = ""


@dataclass(frozen=True)
class AlertGroup:
    kind: str
    label: str
    alerts: tuple[Alert, ...]


def alerts_read(*, since_hours: int = 24, now: dt.datetime | None = None) -> list[Alert]:
    """Quarantined agents and clients, open handoffs, answers past their target, and agents
    kept off or failing; five queries."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=since_hours)
    # A quarantined agent or client is the first thing a supervisor should see: its work is
    # stopped until a person lifts it.
    alerts = [
        Alert(
            kind="quarantine",
            title=f"{quarantine.actor} quarantined",
            detail=quarantine.reason,
            at=quarantine.quarantined_at,
        )
        for quarantine in quarantines_active()
    ]
    alerts += [
        Alert(
            kind="handoff",
            title=f"conversation #{h.conversation_id}",
            detail=h.reason,
            at=h.created_at,
            conversation_id=h.conversation_id,
        )
        for h in handoffs_waiting_live(limit=20)
    ]
    alerts += [
        Alert(
            kind="sla",
            title=f"{clock.get_kind_display()} overdue, conversation #{clock.conversation_id}",
            detail=f"target was {timezone.localtime(clock.due_at):%H:%M:%S}",
            at=clock.due_at,
            conversation_id=clock.conversation_id,
        )
        for clock in ResponseClock.objects.filter(state=ResponseClock.State.RUNNING, due_at__lt=now)
        .exclude(conversation__status=Conversation.Status.CLOSED)
        .exclude(conversation__in=conversations_snoozed(now=now).values("pk"))
        .order_by("due_at")[:20]
    ]
    alerts += [
        Alert(
            kind="agent",
            title=f"Agent {config.name} disabled",
            detail="kept off every plan",
            at=config.updated_at,
        )
        for config in AgentConfig.objects.filter(enabled=False)
    ]
    trouble = (
        AgentRun.objects.filter(started_at__gte=since)
        .exclude(status=AgentRun.Status.OK)
        .values("agent_name", "status")
        .annotate(runs=Count("pk"))
        .order_by("-runs")[:10]
    )
    alerts += [
        Alert(
            kind="agent",
            title=f"Agent {row['agent_name']}: {row['runs']} {row['status'].replace('_', ' ')}",
            detail=f"in the last {since_hours} h",
        )
        for row in trouble
    ]
    return alerts


def alerts_grouped(alerts: list[Alert]) -> list[AlertGroup]:
    """The alerts under their group's heading, groups in reading order, empty ones left out."""
    return [
        AlertGroup(kind=kind, label=label, alerts=items)
        for kind, label in GROUPS.items()
        if (items := tuple(a for a in alerts if a.kind == kind))
    ]
