"""Reads the console's lists and pages need around a customer's context: which conversations a
person may see, the handoffs, proposals and readings shown beside the gate's pack. Who may
see what is decided by the caller (a supervisor sees every conversation); nothing here reads
a customer's context as a whole, which only the gate hands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from memory.models import (
    Conversation,
    Fact,
    Handoff,
    MergeProposal,
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_stubs_ext import WithAnnotations

    ConversationForQueue = WithAnnotations[Conversation, "ForQueueAnnotations"]


class ForQueueAnnotations(TypedDict):
    """What `conversations_open_for_queue` puts on each conversation besides its fields."""

    open_handoffs: list[Handoff]
    mood: float | None


# Which conversations a person sees ----------------------------------------------------------


def conversations_visible_to(*, user_id: int, supervisor: bool) -> QuerySet[Conversation]:
    """The conversations a person may open: all for a supervisor; for anyone else, those
    handed to them and those waiting for anyone. A queryset, because the console narrows it
    and sorts it by operational state in the same SQL; it is read, never written through."""
    conversations = Conversation.objects.all()
    if supervisor:
        return conversations
    open_handoffs = Handoff.objects.filter(conversation=OuterRef("pk")).exclude(
        status=Handoff.Status.RELEASED
    )
    mine = open_handoffs.filter(assigned_to_id=user_id)
    up_for_grabs = open_handoffs.filter(status=Handoff.Status.WAITING, assigned_to__isnull=True)
    return conversations.filter(Q(Exists(mine)) | Q(Exists(up_for_grabs)))


def conversations_open_for_queue(
    *, user_id: int, supervisor: bool
) -> QuerySet[ConversationForQueue]:
    """The open conversations a person may see, as the queue reads them: with the customer,
    the open handoffs (`open_handoffs`, assignee joined), the latest mood score (`mood`) and,
    as the alias `handoff_waiting_since`, when a handoff began waiting. The console adds its
    own clocks, drafts and order to it, so the queue stays one query plus its prefetches."""
    open_handoffs = Handoff.objects.exclude(status=Handoff.Status.RELEASED).select_related(
        "assigned_to"
    )
    latest_mood = SentimentReading.objects.filter(customer=OuterRef("customer_id")).order_by(
        "-read_at", "-pk"
    )
    return (
        conversations_visible_to(user_id=user_id, supervisor=supervisor)
        .exclude(status=Conversation.Status.CLOSED)
        .select_related("customer")
        .prefetch_related(Prefetch("handoffs", queryset=open_handoffs, to_attr="open_handoffs"))
        .alias(
            handoff_waiting_since=Subquery(
                Handoff.objects.filter(
                    conversation=OuterRef("pk"), status=Handoff.Status.WAITING
                ).values("created_at")[:1]
            ),
        )
        .annotate(mood=Subquery(latest_mood.values("score")[:1]))
    )


def conversation_ids_held(*, user_id: int) -> list[int]:
    """The conversations whose open handoff this person holds: their websocket follows these."""
    return list(
        Handoff.objects.filter(assigned_to_id=user_id)
        .exclude(status=Handoff.Status.RELEASED)
        .values_list("conversation_id", flat=True)
    )


# Beside the pack: handoffs, proposals, readings, history ---------------------------------


def handoffs_waiting_oldest(*, limit: int = 20) -> list[Handoff]:
    """Handoffs still waiting for a person, the longest waiting first: a supervisor's alerts."""
    waiting = Handoff.objects.filter(status=Handoff.Status.WAITING).order_by("created_at")
    return list(waiting[:limit])


def conversation_handoffs_recent(*, conversation: Conversation, limit: int = 10) -> list[Handoff]:
    """The conversation's latest handoffs, newest first, with who holds them and what set
    them off: the conversation page's handoff history."""
    return list(
        Handoff.objects.filter(conversation=conversation)
        .select_related("assigned_to", "trigger_message")
        .order_by("-created_at")[:limit]
    )


def merge_proposals_pending_for(*, customer_id: int) -> list[MergeProposal]:
    """Pending merge proposals naming this customer on either side, both records joined, for
    a supervisor to decide."""
    return list(
        MergeProposal.objects.filter(
            Q(customer_id=customer_id) | Q(other_customer_id=customer_id),
            status=MergeProposal.Status.PENDING,
        ).select_related("customer", "other_customer")
    )


def sentiment_readings_by_message(*, message_ids: Iterable[int]) -> dict[int, SentimentReading]:
    """Each of these messages' mood reading, by message id; one query however many."""
    return {
        reading.message_id: reading
        for reading in SentimentReading.objects.filter(message_id__in=list(message_ids))
    }


def message_person_authors(*, message_ids: Iterable[int]) -> dict[int, str]:
    """The username of the person who wrote each of these messages, for those a person wrote."""
    return dict(
        Message.objects.filter(pk__in=list(message_ids), author_user__isnull=False).values_list(
            "pk", "author_user__username"
        )
    )


def message_corrected_intents(*, message_ids: Iterable[int]) -> dict[int, str]:
    """The intent a person corrected each of these messages to, for those corrected."""
    return dict(
        Message.objects.filter(
            pk__in=list(message_ids), intent_corrections__isnull=False
        ).values_list("pk", "intent_corrections__corrected_intent")
    )


def facts_replaced(*, customer_id: int, keys: Iterable[str]) -> list[Fact]:
    """The replaced versions of the customer's facts under these keys, by key and newest
    first: what a person checks a current fact against."""
    return list(
        Fact.objects.filter(
            customer_id=customer_id, key__in=list(keys), valid_until__isnull=False
        ).order_by("key", "-valid_from")
    )
