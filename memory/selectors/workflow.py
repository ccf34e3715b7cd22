"""Reads the workflow needs about conversations: open handoffs, who holds how many, who is
waiting longest and angriest, whether a person has answered, which turn a reply answers and
which conversation a customer moved from. No customer's context is assembled here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery

from memory.models import Conversation, Fact, Handoff, Message, SentimentReading

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_stubs_ext import WithAnnotations

    HandoffWithMood = WithAnnotations[Handoff, "MoodAnnotation"]


class MoodAnnotation(TypedDict):
    """The customer's latest mood score on a handoff, None when nothing was read yet."""

    mood: float | None


def handoff_open_for(*, conversation: Conversation, lock: bool = False) -> Handoff | None:
    """The conversation's handoff that is not released yet, locked for update when asked."""
    handoffs = Handoff.objects.filter(conversation=conversation).exclude(
        status=Handoff.Status.RELEASED
    )
    if lock:
        handoffs = handoffs.select_for_update(no_key=True)
    return handoffs.first()


def handoff_loads(*, user_ids: Iterable[int]) -> dict[int, int]:
    """How many open handoffs each of these people holds."""
    return dict(
        Handoff.objects.filter(assigned_to__in=list(user_ids))
        .exclude(status=Handoff.Status.RELEASED)
        .values("assigned_to")
        .annotate(open=Count("pk"))
        .values_list("assigned_to", "open")
    )


def handoffs_waiting_unassigned(*, angry_below: float, limit: int = 200) -> list[HandoffWithMood]:
    """Handoffs nobody holds yet, the angriest customers first, then the longest waiting; each
    carries its customer's latest mood score as `mood`."""
    mood = SentimentReading.objects.filter(customer=OuterRef("conversation__customer_id")).order_by(
        "-read_at", "-pk"
    )
    waiting = list(
        Handoff.objects.filter(status=Handoff.Status.WAITING, assigned_to__isnull=True)
        .annotate(mood=Subquery(mood.values("score")[:1]))
        .order_by("created_at", "pk")[:limit]
    )
    waiting.sort(key=lambda h: (h.mood is None or h.mood > angry_below, h.created_at, h.pk))
    return waiting


def conversation_answered_by_person_since(
    *, conversation: Conversation, since: dt.datetime
) -> bool:
    """Whether a person has written to the customer in this conversation since `since`."""
    return Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        author=Message.Author.HUMAN,
        sent_at__gte=since,
    ).exists()


def message_latest_inbound(*, conversation: Conversation) -> Message | None:
    """The customer's newest turn in this conversation, which a reply answers."""
    return (
        Message.objects.filter(conversation=conversation, direction=Message.Direction.INBOUND)
        .order_by("-sent_at", "-pk")
        .first()
    )


def message_answered_by(*, reply: Message) -> Message | None:
    """The customer's turn a reply answers: the one it names (`in_reply_to`), else the
    conversation's newest, whose addresses the reply goes back to."""
    inbound_id = reply.channel_metadata.get("in_reply_to")
    inbound_turns = Message.objects.filter(
        conversation_id=reply.conversation_id, direction=Message.Direction.INBOUND
    )
    named = inbound_turns.filter(pk=inbound_id).first() if inbound_id else None
    return named or inbound_turns.order_by("-sent_at", "-pk").first()


def message_has_earlier_inbound(*, message: Message) -> bool:
    """Whether the customer said something earlier in this message's conversation: only a
    conversation's first turn can be a move from another channel."""
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        direction=Message.Direction.INBOUND,
        pk__lt=message.pk,
    ).exists()


def conversation_latest_elsewhere(
    *, customer_id: int, conversation_id: int, since: dt.datetime
) -> Conversation | None:
    """The customer's most recently active other conversation since `since`: the one a
    customer who moved channel came from."""
    return (
        Conversation.objects.filter(customer_id=customer_id, last_message_at__gte=since)
        .exclude(pk=conversation_id)
        .order_by("-last_message_at", "-pk")
        .first()
    )


def conversations_due(*, now: dt.datetime) -> list[tuple[int, str]]:
    """(conversation id, new status) for each conversation due to go inactive or close after
    its channel's quiet period (CONVERSATION_INACTIVE_AFTER_MINUTES, ..._CLOSE_AFTER_...)."""
    closing = Q()
    resting = Q()
    for channel, minutes in settings.CONVERSATION_CLOSE_AFTER_MINUTES.items():
        closing |= Q(channel=channel, last_message_at__lt=now - dt.timedelta(minutes=minutes))
    for channel, minutes in settings.CONVERSATION_INACTIVE_AFTER_MINUTES.items():
        resting |= Q(channel=channel, last_message_at__lt=now - dt.timedelta(minutes=minutes))
    open_ones = Conversation.objects.exclude(status=Conversation.Status.CLOSED)
    to_close = list(open_ones.filter(closing).values_list("pk", flat=True)) if closing else []
    to_rest = (
        list(
            open_ones.filter(resting, status=Conversation.Status.ACTIVE)
            .exclude(pk__in=to_close)
            .values_list("pk", flat=True)
        )
        if resting
        else []
    )
    due: list[tuple[int, str]] = [(pk, Conversation.Status.CLOSED) for pk in to_close]
    return due + [(pk, Conversation.Status.INACTIVE) for pk in to_rest]


def messages_inbound_in_order(*, conversation: Conversation) -> list[Message]:
    """The customer's turns in one conversation, oldest first, for wrapping it up."""
    return list(
        Message.objects.filter(
            conversation=conversation, direction=Message.Direction.INBOUND
        ).order_by("sent_at", "pk")
    )


def facts_current_at(*, customer_id: int, keys: list[str], at: dt.datetime) -> dict[str, str]:
    """The customer's own (not a case's) fact values that were current at `at`, by key."""
    rows = Fact.objects.filter(
        customer_id=customer_id, case__isnull=True, key__in=keys, valid_from__lt=at
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=at))
    return {fact.key: fact.value for fact in rows}
