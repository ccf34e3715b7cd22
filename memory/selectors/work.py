"""Reads of the work people do on conversations: which are open, snoozed or resolved (a new
customer turn reopens), the queue's filters and counts, notes, labels and wrap-ups. Who may
see what is decided by the caller; customer context itself comes only from the gate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from memory.models import (
    Conversation,
    ConversationLabel,
    ConversationNote,
    ConversationWork,
    Handoff,
    Identity,
    Message,
    WrapUp,
)
from memory.selectors.console import conversations_open_for_queue

WORK_OPEN = ConversationWork.Status.OPEN.value
WORK_SNOOZED = ConversationWork.Status.SNOOZED.value
WORK_RESOLVED = ConversationWork.Status.RESOLVED.value


def _customer_spoke_since_work_changed() -> Exists:
    """Whether the customer wrote after the conversation was last snoozed or resolved: such a
    conversation counts as open again, whatever its stored state says."""
    return Exists(
        Message.objects.filter(
            conversation=OuterRef("pk"),
            direction=Message.Direction.INBOUND,
            sent_at__gt=OuterRef("work__changed_at"),
        )
    )


def conversations_for_console(
    *, user_id: int, supervisor: bool, now: dt.datetime | None = None
) -> QuerySet[Any]:
    """The conversations a person may see that are not closed, as the queue reads them
    (`conversations_open_for_queue`), each with its work state as `work_state` (open, snoozed
    or resolved; a customer turn after a snooze or resolve counts as open again) and its
    labels as `label_list`."""
    now = now or timezone.now()
    spoke_since = _customer_spoke_since_work_changed()
    return (
        conversations_open_for_queue(user_id=user_id, supervisor=supervisor)
        .prefetch_related(
            Prefetch("labels", queryset=ConversationLabel.objects.all(), to_attr="label_list")
        )
        .annotate(
            work_state=Case(
                When(Q(work__status=WORK_RESOLVED) & ~spoke_since, then=Value(WORK_RESOLVED)),
                When(
                    Q(work__status=WORK_SNOOZED, work__snoozed_until__gt=now) & ~spoke_since,
                    then=Value(WORK_SNOOZED),
                ),
                default=Value(WORK_OPEN),
                output_field=CharField(),
            ),
            snoozed_until=Case(
                When(work__status=WORK_SNOOZED, then="work__snoozed_until"), default=None
            ),
        )
    )


def conversations_assigned_to(
    conversations: QuerySet[Any], *, user_id: int | None
) -> QuerySet[Any]:
    """Narrow a list to the conversations whose open handoff this person holds (None: open
    handoffs nobody holds yet)."""
    open_handoffs = Handoff.objects.filter(conversation=OuterRef("pk")).exclude(
        status=Handoff.Status.RELEASED
    )
    if user_id is None:
        return conversations.filter(Exists(open_handoffs.filter(assigned_to__isnull=True)))
    return conversations.filter(Exists(open_handoffs.filter(assigned_to_id=user_id)))


def conversations_matching(conversations: QuerySet[Any], text: str) -> QuerySet[Any]:
    """Narrow a list to a search: the customer's name, one of their addresses, a label, the
    conversation's subject, or its number (`#12` or `12`)."""
    text = text.strip()[:100]
    if not text:
        return conversations
    number = text.lstrip("#")
    found = (
        Q(customer__display_name__icontains=text)
        | Q(subject__icontains=text)
        | Q(
            Exists(
                Identity.objects.filter(customer_id=OuterRef("customer_id"), value__icontains=text)
            )
        )
        | Q(Exists(ConversationLabel.objects.filter(conversation=OuterRef("pk"), name=text)))
    )
    if number.isdigit():
        found |= Q(pk=int(number))
    return conversations.filter(found)


def conversation_work_state(*, conversation: Conversation) -> tuple[str, ConversationWork | None]:
    """The conversation's work state as the queue sees it, and its row (None: never changed)."""
    work = ConversationWork.objects.filter(conversation=conversation).first()
    if work is None or work.status == WORK_OPEN:
        return WORK_OPEN, work
    if Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        sent_at__gt=work.changed_at,
    ).exists():
        return WORK_OPEN, work
    if work.status == WORK_SNOOZED and (
        work.snoozed_until is None or work.snoozed_until <= timezone.now()
    ):
        return WORK_OPEN, work
    return work.status, work


def conversations_snoozed(*, now: dt.datetime | None = None) -> QuerySet[Conversation]:
    """Conversations snoozed right now (until a time still to come, the customer silent since):
    their response clocks are paused, so nothing about them is overdue."""
    now = now or timezone.now()
    spoke_since = _customer_spoke_since_work_changed()
    return Conversation.objects.filter(
        work__status=WORK_SNOOZED, work__snoozed_until__gt=now
    ).exclude(spoke_since)


def conversation_notes(*, conversation_id: int, limit: int = 100) -> list[ConversationNote]:
    """The conversation's private notes, oldest first, with their authors."""
    notes = ConversationNote.objects.filter(conversation_id=conversation_id).select_related(
        "author"
    )
    return list(notes.order_by("-created_at", "-pk")[:limit])[::-1]


def conversation_labels(*, conversation_id: int) -> list[str]:
    return list(
        ConversationLabel.objects.filter(conversation_id=conversation_id).values_list(
            "name", flat=True
        )
    )


def conversation_wrap_ups(*, conversation_id: int, limit: int = 10) -> list[WrapUp]:
    """The conversation's wrap-ups, newest first, with who resolved it."""
    return list(
        WrapUp.objects.filter(conversation_id=conversation_id)
        .select_related("resolved_by")
        .order_by("-created_at")[:limit]
    )


def labels_in_use(*, limit: int = 50) -> list[str]:
    """The labels people use most, for the label picker."""
    return list(
        ConversationLabel.objects.values("name")
        .annotate(uses=Count("pk"))
        .order_by("-uses", "name")
        .values_list("name", flat=True)[:limit]
    )


def handoffs_waiting_live(*, limit: int = 20) -> list[Handoff]:
    """Handoffs still waiting for a person on conversations still going (an ended call is
    closed and needs nobody), the longest waiting first."""
    return list(
        Handoff.objects.filter(status=Handoff.Status.WAITING)
        .exclude(conversation__status=Conversation.Status.CLOSED)
        .order_by("created_at")[:limit]
    )


def wrap_ups_count_by_disposition(*, since: dt.datetime) -> dict[str, int]:
    """How many resolutions each disposition had since a moment (a conversation resolved
    twice counts twice: each was work done)."""
    return dict(
        WrapUp.objects.filter(created_at__gte=since)
        .values("disposition")
        .annotate(resolved=Count("pk"))
        .values_list("disposition", "resolved")
    )


def messages_inbound_count_since(*, since: dt.datetime) -> int:
    """How many customer turns arrived since a moment: the queue's volume figure."""
    return Message.objects.filter(direction=Message.Direction.INBOUND, sent_at__gte=since).count()


def conversation_ids_closed(*, conversation_ids: list[int]) -> set[int]:
    """Which of these conversations have ended (a call hung up, a thread closed)."""
    return set(
        Conversation.objects.filter(
            pk__in=conversation_ids, status=Conversation.Status.CLOSED
        ).values_list("pk", flat=True)
    )
