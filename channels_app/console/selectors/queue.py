"""The console's live queue: open conversations a person may work, what needs a person first.
Each row's customer context is one read through the gate with the person as actor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from channels_app.console.access import ConsoleRole
from memory.actors import Partition, UserActor
from memory.models import Conversation, Message
from memory.selectors import context_read, conversations_open_for_queue
from orchestrator.models import PipelineRun, ReplyDraft, ResponseClock

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import WithAnnotations

    from memory.context import ContextPack
    from memory.models import Handoff

    QueueConversation = WithAnnotations[Conversation, "QueueAnnotations"]

QUEUE_PARTITIONS = (Partition.PROFILE, Partition.MESSAGES, Partition.EMOTION)


class Bucket:
    """What needs a person first: the queue sorts on these, lowest first."""

    WAITING_FOR_PERSON = 0
    DRAFT_TO_APPROVE = 1
    CUSTOMER_WAITING = 2
    WITH_PERSON = 3
    AUTOMATED = 4


class QueueAnnotations(TypedDict):
    """What `_queue_conversations` puts on each conversation besides its fields."""

    open_handoffs: list[Handoff]  # prefetched by memory's conversations_open_for_queue
    running_clocks: list[ResponseClock]  # prefetched
    draft_pending: bool
    clock_running: bool
    intent: str | None
    waiting_since: dt.datetime | None
    bucket: int
    calm: int


@dataclass(frozen=True)
class QueueRow:
    """One conversation as the queue shows it."""

    conversation_id: int
    customer_id: int
    customer_name: str
    channel: str
    channel_label: str
    mode: str
    mode_label: str
    bucket: int
    last_message: str
    last_message_at: dt.datetime | None
    answered: bool
    intent: str
    mood_label: str
    mood_score: float | None
    waiting_since: dt.datetime | None
    sla_due_at: dt.datetime | None
    sla_kind: str
    assigned_to: str
    draft_pending: bool
    angry: bool

    @property
    def sort_key(self) -> tuple[int, int, float]:
        waited = self.waiting_since.timestamp() if self.waiting_since else float("inf")
        return (self.bucket, 0 if self.angry else 1, waited)

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        for key in ("last_message_at", "waiting_since", "sla_due_at"):
            raw[key] = raw[key].isoformat() if raw[key] else None
        bucket, calm, waited = self.sort_key
        raw["sort_key"] = [bucket, calm, waited if self.waiting_since else None]
        return raw


def _queue_conversations(*, user: User, role: ConsoleRole) -> QuerySet[QueueConversation]:
    """Open conversations the person may see, with what the queue sorts and shows on them
    besides customer context: handoff, clock, draft, the latest intent, how angry."""
    running = ResponseClock.objects.filter(state=ResponseClock.State.RUNNING)
    latest_run = PipelineRun.objects.filter(conversation=OuterRef("pk")).order_by(
        "-started_at", "-pk"
    )
    return (
        conversations_open_for_queue(user_id=user.pk, supervisor=role is ConsoleRole.SUPERVISOR)
        .prefetch_related(
            Prefetch("response_clocks", queryset=running, to_attr="running_clocks"),
        )
        .annotate(
            draft_pending=Exists(
                ReplyDraft.objects.filter(
                    conversation=OuterRef("pk"), status=ReplyDraft.Status.PENDING
                )
            ),
            clock_running=Exists(running.filter(conversation=OuterRef("pk"))),
            intent=Subquery(latest_run.values("decision__intent")[:1]),
            waiting_since=Coalesce(
                Subquery(running.filter(conversation=OuterRef("pk")).values("started_at")[:1]),
                F("handoff_waiting_since"),
            ),
        )
        .annotate(
            bucket=Case(
                When(mode=Conversation.Mode.HANDED_OFF, then=Value(Bucket.WAITING_FOR_PERSON)),
                When(
                    Q(mode=Conversation.Mode.APPROVAL) & Q(draft_pending=True),
                    then=Value(Bucket.DRAFT_TO_APPROVE),
                ),
                When(
                    Q(mode=Conversation.Mode.WITH_PERSON) & Q(clock_running=True),
                    then=Value(Bucket.CUSTOMER_WAITING),
                ),
                When(mode=Conversation.Mode.WITH_PERSON, then=Value(Bucket.WITH_PERSON)),
                default=Value(Bucket.AUTOMATED),
                output_field=IntegerField(),
            ),
            calm=Case(
                When(mood__lte=settings.ORCHESTRATOR_ANGRY_SCORE, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by(
            "bucket",
            "calm",
            F("waiting_since").asc(nulls_last=True),
            "-last_message_at",
            "-pk",
        )
    )


def queue_read(*, user: User, role: ConsoleRole) -> list[QueueRow]:
    """The live queue, what needs a person first. Each row's customer context is one gate
    read, so the cost per row is fixed whatever the customer's history."""
    conversations = _queue_conversations(user=user, role=role)[: settings.CONSOLE_QUEUE_LIMIT]
    actor = UserActor(user)
    return [
        _queue_row(conversation=conversation, pack=_queue_pack(actor, conversation))
        for conversation in conversations
    ]


def queue_row_read(*, user: User, role: ConsoleRole, conversation_id: int) -> QueueRow | None:
    """One conversation's queue row, None when the person may not see it (or it closed)."""
    conversation = _queue_conversations(user=user, role=role).filter(pk=conversation_id).first()
    if conversation is None:
        return None
    return _queue_row(conversation=conversation, pack=_queue_pack(UserActor(user), conversation))


def _queue_pack(actor: UserActor, conversation: Conversation) -> ContextPack:
    return context_read(
        actor=actor,
        customer=conversation.customer,
        partitions=QUEUE_PARTITIONS,
        purpose=f"console: live queue, conversation #{conversation.pk}",
        correlation_id=f"console:conversation:{conversation.pk}",
        recent_turns=5,
    )


def _queue_row(*, conversation: QueueConversation, pack: ContextPack) -> QueueRow:
    # What the customer last said is what a person triages by; a reply since is only marked.
    turns = [t for t in pack.turns if t.conversation_id == conversation.pk] or list(pack.turns)
    said = [t for t in turns if t.direction == Message.Direction.INBOUND]
    last = said[0] if said else (turns[0] if turns else None)
    answered = bool(turns) and turns[0].direction == Message.Direction.OUTBOUND
    handoff = conversation.open_handoffs[0] if conversation.open_handoffs else None
    clock = conversation.running_clocks[0] if conversation.running_clocks else None
    emotion = pack.emotion
    assignee = handoff.assigned_to if handoff is not None else None
    return QueueRow(
        conversation_id=conversation.pk,
        customer_id=conversation.customer_id,
        customer_name=(pack.profile.display_name if pack.profile else "")
        or f"Customer #{conversation.customer_id}",
        channel=conversation.channel,
        channel_label=conversation.get_channel_display(),
        mode=conversation.mode,
        mode_label=MODE_LABELS.get(conversation.mode, conversation.mode),
        bucket=conversation.bucket,
        last_message=last.text if last else "",
        last_message_at=last.sent_at if last else None,
        answered=answered,
        intent=conversation.intent or "",
        mood_label=emotion.label if emotion else "",
        mood_score=emotion.score if emotion else None,
        waiting_since=conversation.waiting_since,
        sla_due_at=clock.due_at if clock else None,
        sla_kind=clock.get_kind_display() if clock else "",
        assigned_to=_person_name(assignee) if assignee is not None else "",
        draft_pending=conversation.draft_pending,
        angry=conversation.calm == 0,
    )


MODE_LABELS: dict[str, str] = {
    Conversation.Mode.AUTOMATED: "Automated",
    Conversation.Mode.APPROVAL: "Approval",
    Conversation.Mode.HANDED_OFF: "Handed off",
    Conversation.Mode.WITH_PERSON: "With a person",
}


def _person_name(user: User) -> str:
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()
