"""Presence and the queue: who can take conversations now, and handing waiting ones out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memory.events import ConversationAssigned, PresenceChanged, publish
from memory.roles import AGENTS
from memory.selectors import handoff_loads, handoff_open_for, handoffs_waiting_unassigned
from memory.services import handoffs as handoff_rows
from orchestrator.models import AgentPresence, ResponseClock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Conversation, Handoff


def person_label(user: User) -> str:
    return f"user:{user.get_username()}"


def presence_set(*, user: User, status: str, capacity: int | None = None) -> AgentPresence:
    """Say whether an agent can take conversations; coming online pulls from the queue."""
    if status not in AgentPresence.Status.values:
        raise ValueError(f"unknown presence {status!r}")
    with transaction.atomic():
        presence, _ = AgentPresence.objects.select_for_update().get_or_create(user=user)
        presence.status = status
        presence.changed_at = timezone.now()
        fields = ["status", "changed_at"]
        if capacity is not None:
            presence.capacity = max(1, capacity)
            fields.append("capacity")
        presence.save(update_fields=fields)
        publish(
            PresenceChanged(
                agent_id=user.pk,
                agent=user.get_username(),
                status=presence.status,
                capacity=presence.capacity,
            )
        )
    if status == AgentPresence.Status.ONLINE:
        queue_assign_waiting()
    return presence


def queue_assign_waiting() -> list[Handoff]:
    """Give waiting, unassigned handoffs to online agents with room: the angriest customers
    first, then the longest waiting; each to the agent with the fewest open conversations.

    The agents' presence rows are locked first, so two assigners never overfill one agent.
    """
    assigned: list[Handoff] = []
    with transaction.atomic():
        presences = list(
            AgentPresence.objects.select_for_update()
            .filter(
                status=AgentPresence.Status.ONLINE,
                user__is_active=True,
                user__groups__name=AGENTS,
            )
            .select_related("user")
            .order_by("changed_at", "pk")
        )
        if not presences:
            return assigned
        loads = handoff_loads(user_ids=[p.user_id for p in presences])
        room = {p.user_id: p.capacity - loads.get(p.user_id, 0) for p in presences}
        people = {p.user_id: p.user for p in presences}
        waiting = handoffs_waiting_unassigned(angry_below=settings.ORCHESTRATOR_ANGRY_SCORE)
        for handoff in waiting:
            free = [user_id for user_id, left in room.items() if left > 0]
            if not free:
                break
            user_id = max(free, key=lambda uid: room[uid])
            room[user_id] -= 1
            assigned.append(handoff_give(handoff=handoff, user=people[user_id], previous=None))
    return assigned


def handoff_reassign(*, conversation: Conversation, to_user: User, by: User) -> Handoff:
    """A supervisor gives a conversation to someone else (one is opened if it had none, and
    its response clock starts)."""
    from orchestrator.people.clocks import response_clock_start

    with transaction.atomic():
        handoff = handoff_open_for(conversation=conversation)
        if handoff is None:
            handoff = handoff_rows.conversation_hand_off(
                conversation=conversation,
                reason=f"assigned by {by.get_username()}",
                requested_by=person_label(by),
            )
            response_clock_start(conversation=conversation, waiting_since=handoff.created_at)
        return handoff_give(handoff=handoff, user=to_user, previous=handoff.assigned_to_id)


def handoff_give(*, handoff: Handoff, user: User, previous: int | None) -> Handoff:
    """Assign a handoff to a person: the conversation's running clock is theirs now."""
    handoff = handoff_rows.handoff_assign(handoff=handoff, user=user)
    ResponseClock.objects.filter(
        conversation_id=handoff.conversation_id, state=ResponseClock.State.RUNNING
    ).update(agent=user)  # the clock is the workflow's own row, not an audited graph model
    publish(
        ConversationAssigned(
            conversation_id=handoff.conversation_id,
            agent_ids=(user.pk, previous),
            agent_id=user.pk,
            agent=user.get_username(),
            handoff_id=handoff.pk,
        )
    )
    return handoff
