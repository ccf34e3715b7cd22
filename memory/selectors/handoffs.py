"""Reads about who holds a customer: their open handoff on any channel, and the channel switch
that brought them to the conversation they are in now."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from memory.context import HandoverView
from memory.models import ChannelSwitch, Conversation, Handoff


def customer_handoff_open(
    *, customer_id: int, excluding_conversation_id: int | None = None
) -> Handoff | None:
    """The customer's newest handoff no person has released yet, on any of their conversations
    (but `excluding_conversation_id`): a handoff belongs to the customer, not to one channel."""
    handoffs = (
        Handoff.objects.filter(conversation__customer_id=customer_id)
        .exclude(status=Handoff.Status.RELEASED)
        .select_related("conversation", "assigned_to")
        .order_by("-created_at", "-pk")
    )
    if excluding_conversation_id is not None:
        handoffs = handoffs.exclude(conversation_id=excluding_conversation_id)
    return handoffs.first()


def channel_switch_into(*, conversation_id: int) -> ChannelSwitch | None:
    """The switch that opened this conversation, if it was opened by one."""
    return (
        ChannelSwitch.objects.filter(to_conversation_id=conversation_id)
        .select_related("from_conversation")
        .first()
    )


def handover_view(*, customer_id: int, with_words: bool) -> HandoverView | None:
    """The handover waiting for whoever answers the customer now: the newest switch into a
    conversation still open, within the switch window. One query.

    `with_words` only for a reader holding `messages`: the summary quotes the customer."""
    since = timezone.now() - dt.timedelta(hours=settings.ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS)
    switch = (
        ChannelSwitch.objects.filter(
            customer_id=customer_id,
            created_at__gte=since,
            to_conversation__status__in=(
                Conversation.Status.ACTIVE,
                Conversation.Status.INACTIVE,
            ),
        )
        .select_related("from_conversation", "to_conversation")
        .order_by("-created_at", "-pk")
        .first()
    )
    if switch is None:
        return None
    return HandoverView(
        switch_id=switch.pk,
        from_conversation_id=switch.from_conversation_id,
        from_channel=switch.from_conversation.channel,
        to_conversation_id=switch.to_conversation_id,
        to_channel=switch.to_conversation.channel,
        topic=switch.topic,
        carried_case_ids=tuple(int(i) for i in switch.carried_case_ids or ()),
        was_with_person=switch.from_conversation.mode in Conversation.HUMAN_MODES,
        summary=switch.handover_summary if with_words else "",
        at=switch.created_at,
    )
