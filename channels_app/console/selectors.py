"""Reads for the console. Customer context shown to a person always comes through the gate
(`context_read` with the person as actor), so every queue row and conversation page is an
audited access; what the console adds around it (handoffs, clocks, traces) is operational.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
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
from django.shortcuts import get_object_or_404
from django.utils import timezone

from channels_app.console.access import ConsoleRole, conversations_visible
from channels_app.models import AgentPresence, ReplyDraft, ResponseClock
from memory.actors import Partition, UserActor
from memory.models import (
    Conversation,
    Fact,
    Handoff,
    MergeProposal,
    Message,
    SentimentReading,
)
from memory.roles import AGENTS, SUPERVISORS
from memory.selectors import context_read
from orchestrator.models import AgentConfig, AgentRun, PipelineRun

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from memory.context import ContextPack, EmotionView

QUEUE_PARTITIONS = (Partition.PROFILE, Partition.MESSAGES, Partition.EMOTION)
PAGE_PARTITIONS = (
    Partition.PROFILE,
    Partition.IDENTITIES,
    Partition.MESSAGES,
    Partition.BUSINESS,
    Partition.EMOTION,
    Partition.PII,
)
PAGE_TURNS = 200


class Bucket:
    """What needs a person first: the queue sorts on these, lowest first."""

    WAITING_FOR_PERSON = 0
    DRAFT_TO_APPROVE = 1
    CUSTOMER_WAITING = 2
    WITH_PERSON = 3
    AUTOMATED = 4


# The queue ---------------------------------------------------------------------------------------


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


def _queue_conversations(*, user: AbstractBaseUser, role: ConsoleRole) -> QuerySet[Conversation]:
    """Open conversations the person may see, with what the queue sorts and shows on them
    besides customer context: handoff, clock, draft, the latest intent, how angry."""
    open_handoffs = Handoff.objects.exclude(status=Handoff.Status.RELEASED).select_related(
        "assigned_to"
    )
    running = ResponseClock.objects.filter(state=ResponseClock.State.RUNNING)
    latest_run = PipelineRun.objects.filter(conversation=OuterRef("pk")).order_by(
        "-started_at", "-pk"
    )
    latest_mood = SentimentReading.objects.filter(customer=OuterRef("customer_id")).order_by(
        "-read_at", "-pk"
    )
    return (
        conversations_visible(user=user, role=role)
        .exclude(status=Conversation.Status.CLOSED)
        .select_related("customer")
        .prefetch_related(
            Prefetch("handoffs", queryset=open_handoffs, to_attr="open_handoffs"),
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
            mood=Subquery(latest_mood.values("score")[:1]),
            waiting_since=Coalesce(
                Subquery(running.filter(conversation=OuterRef("pk")).values("started_at")[:1]),
                Subquery(
                    Handoff.objects.filter(
                        conversation=OuterRef("pk"), status=Handoff.Status.WAITING
                    ).values("created_at")[:1]
                ),
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


def queue_read(*, user: AbstractBaseUser, role: ConsoleRole) -> list[QueueRow]:
    """The live queue, what needs a person first. Each row's customer context is one gate
    read, so the cost per row is fixed whatever the customer's history."""
    conversations = _queue_conversations(user=user, role=role)[: settings.CONSOLE_QUEUE_LIMIT]
    actor = UserActor(user)
    return [
        _queue_row(conversation=conversation, pack=_queue_pack(actor, conversation))
        for conversation in conversations
    ]


def queue_row_read(
    *, user: AbstractBaseUser, role: ConsoleRole, conversation_id: int
) -> QueueRow | None:
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


def _queue_row(*, conversation: Conversation, pack: ContextPack) -> QueueRow:
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


MODE_LABELS = {
    Conversation.Mode.AUTOMATED: "Automated",
    Conversation.Mode.APPROVAL: "Approval",
    Conversation.Mode.HANDED_OFF: "Handed off",
    Conversation.Mode.WITH_PERSON: "With a person",
}


def _person_name(user: AbstractBaseUser) -> str:
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


# Alerts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """Something a supervisor should look at: a handoff, an overdue answer, a blocked agent."""

    kind: str
    title: str
    detail: str
    at: dt.datetime | None = None
    conversation_id: int | None = None


def alerts_read(*, since_hours: int = 24) -> list[Alert]:
    """Open handoffs, answers past their target, and agents kept off or failing; four queries."""
    now = timezone.now()
    since = now - dt.timedelta(hours=since_hours)
    alerts = [
        Alert(
            kind="handoff",
            title=f"Handoff: conversation #{h.conversation_id}",
            detail=h.reason,
            at=h.created_at,
            conversation_id=h.conversation_id,
        )
        for h in Handoff.objects.filter(status=Handoff.Status.WAITING).order_by("created_at")[:20]
    ]
    alerts += [
        Alert(
            kind="sla",
            title=f"{clock.get_kind_display()} overdue: conversation #{clock.conversation_id}",
            detail=f"target was {timezone.localtime(clock.due_at):%H:%M:%S}",
            at=clock.due_at,
            conversation_id=clock.conversation_id,
        )
        for clock in ResponseClock.objects.filter(
            state=ResponseClock.State.RUNNING, due_at__lt=now
        ).order_by("due_at")[:20]
    ]
    alerts += [
        Alert(
            kind="blocked",
            title=f"Agent {config.name} {'quarantined' if config.quarantined else 'disabled'}",
            detail=config.quarantine_reason or "kept off every plan",
            at=config.updated_at,
        )
        for config in AgentConfig.objects.filter(Q(quarantined=True) | Q(enabled=False))
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
            kind="blocked",
            title=f"Agent {row['agent_name']}: {row['runs']} {row['status'].replace('_', ' ')}",
            detail=f"in the last {since_hours} h",
        )
        for row in trouble
    ]
    return alerts


# The conversation page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStep:
    name: str
    status: str
    partitions: tuple[str, ...]
    latency_ms: float
    output: dict[str, Any]
    error: str

    @property
    def output_text(self) -> str:
        return _compact(self.output)


@dataclass(frozen=True)
class Trace:
    """What the orchestrator did with one inbound message."""

    run_id: int
    path: str
    status: str
    plan: dict[str, Any]
    agents: tuple[AgentStep, ...]
    merge: dict[str, Any]
    decision: dict[str, Any]
    timings: dict[str, float]
    total_ms: float | None
    intent: str
    corrected_intent: str

    @property
    def plan_text(self) -> str:
        return _compact(self.plan)

    @property
    def merge_text(self) -> str:
        return _compact(self.merge)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(self.decision.get("reasons") or ())


def _compact(value: dict[str, Any]) -> str:
    """A JSON value short enough to read in a trace row."""
    return json.dumps(value, default=str, ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class TimelineItem:
    message_id: int
    conversation_id: int
    channel: str
    direction: str
    author: str
    author_label: str
    text: str
    sent_at: dt.datetime
    sentiment: str
    sentiment_score: float | None
    trace: Trace | None
    here: bool


@dataclass(frozen=True)
class TrendChart:
    """The sentiment trend as an inline SVG: a polyline and a dot per reading."""

    width: int
    height: int
    zero_y: float
    polyline: str
    dots: tuple[tuple[float, float, str], ...]


@dataclass(frozen=True)
class ConversationPage:
    conversation: Conversation
    pack: ContextPack
    timeline: tuple[TimelineItem, ...]
    fact_history: dict[str, tuple[Fact, ...]]
    trend: TrendChart | None
    handoffs: tuple[Handoff, ...]
    open_handoff: Handoff | None
    running_clock: ResponseClock | None
    draft: ReplyDraft | None
    merge_proposals: tuple[MergeProposal, ...]
    assignable: tuple[Any, ...] = field(default=())
    intents: tuple[str, ...] = field(default=())


def conversation_page_read(
    *, user: AbstractBaseUser, role: ConsoleRole, conversation_id: int
) -> ConversationPage:
    """Everything the conversation page shows. The customer's context is one gate read with
    the partitions the person holds; what is read besides it (traces, fact history, readings)
    is only read when the gate granted the partition it belongs to."""
    conversation = get_object_or_404(
        conversations_visible(user=user, role=role).select_related("customer"),
        pk=conversation_id,
    )
    actor = UserActor(user)
    partitions = [p for p in PAGE_PARTITIONS if actor.may_read(p)]
    if Partition.MESSAGES not in partitions:
        raise PermissionDenied("reading this conversation needs the messages partition")
    pack = context_read(
        actor=actor,
        customer=conversation.customer,
        partitions=partitions,
        purpose=f"console: conversation #{conversation.pk}",
        correlation_id=f"console:conversation:{conversation.pk}",
        recent_turns=PAGE_TURNS,
    )
    handoffs = tuple(
        conversation.handoffs.select_related("assigned_to", "trigger_message").order_by(
            "-created_at"
        )[:10]
    )
    return ConversationPage(
        conversation=conversation,
        pack=pack,
        timeline=_timeline(conversation=conversation, pack=pack),
        fact_history=_fact_history(pack) if Partition.BUSINESS in pack.partitions else {},
        trend=trend_chart(pack.emotion),
        handoffs=handoffs,
        open_handoff=next((h for h in handoffs if h.status != Handoff.Status.RELEASED), None),
        running_clock=ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).first(),
        draft=ReplyDraft.objects.filter(
            conversation=conversation, status=ReplyDraft.Status.PENDING
        ).first(),
        merge_proposals=tuple(
            MergeProposal.objects.filter(
                Q(customer_id=conversation.customer_id)
                | Q(other_customer_id=conversation.customer_id),
                status=MergeProposal.Status.PENDING,
            ).select_related("customer", "other_customer")
        ),
        assignable=tuple(people_assignable()) if role is ConsoleRole.SUPERVISOR else (),
        intents=intents_known(),
    )


def _timeline(*, conversation: Conversation, pack: ContextPack) -> tuple[TimelineItem, ...]:
    """The customer's turns on every channel, oldest first, each inbound one with its trace;
    three queries however many turns."""
    turns = list(reversed(pack.turns))
    ids = [t.message_id for t in turns]
    runs = {
        run.inbound_message_id: run
        for run in PipelineRun.objects.filter(inbound_message_id__in=ids).prefetch_related(
            Prefetch("agent_runs", queryset=AgentRun.objects.order_by("started_at", "pk"))
        )
    }
    readings: dict[int, SentimentReading] = {}
    if Partition.EMOTION in pack.partitions:
        readings = {r.message_id: r for r in SentimentReading.objects.filter(message_id__in=ids)}
    people = dict(
        Message.objects.filter(pk__in=ids, author_user__isnull=False).values_list(
            "pk", "author_user__username"
        )
    )
    corrections = dict(
        Message.objects.filter(pk__in=ids, intent_corrections__isnull=False).values_list(
            "pk", "intent_corrections__corrected_intent"
        )
    )
    items = []
    for turn in turns:
        reading = readings.get(turn.message_id)
        run = runs.get(turn.message_id)
        items.append(
            TimelineItem(
                message_id=turn.message_id,
                conversation_id=turn.conversation_id,
                channel=turn.channel,
                direction=turn.direction,
                author=turn.author,
                author_label=_author_label(turn.author, people.get(turn.message_id)),
                text=turn.text,
                sent_at=turn.sent_at,
                sentiment=reading.label if reading else "",
                sentiment_score=reading.score if reading else None,
                trace=_trace(run, corrections.get(turn.message_id, "")) if run else None,
                here=turn.conversation_id == conversation.pk,
            )
        )
    return tuple(items)


def _author_label(author: str, username: str | None) -> str:
    if author == Message.Author.HUMAN:
        return username or "a person"
    return dict(Message.Author.choices).get(author, author)


def _trace(run: PipelineRun, corrected: str) -> Trace:
    return Trace(
        run_id=run.pk,
        path=run.get_path_display(),
        status=run.get_status_display(),
        plan=run.plan,
        agents=tuple(
            AgentStep(
                name=step.agent_name,
                status=step.status,
                partitions=tuple(step.partitions),
                latency_ms=step.latency_ms,
                output=step.output,
                error=step.error,
            )
            for step in run.agent_runs.all()
        ),
        merge=run.merge,
        decision=run.decision,
        timings=run.timings,
        total_ms=run.total_ms,
        intent=str(run.decision.get("intent") or ""),
        corrected_intent=corrected,
    )


def _fact_history(pack: ContextPack) -> dict[str, tuple[Fact, ...]]:
    """The replaced versions of the customer's current facts, newest first, per key."""
    keys = {fact.key for fact in pack.facts}
    history: dict[str, list[Fact]] = {}
    for fact in Fact.objects.filter(
        customer_id=pack.customer_id, key__in=keys, valid_until__isnull=False
    ).order_by("key", "-valid_from"):
        history.setdefault(fact.key, []).append(fact)
    return {key: tuple(versions) for key, versions in history.items()}


def trend_chart(
    emotion: EmotionView | None, *, width: int = 220, height: int = 48
) -> TrendChart | None:
    """Scale the mood readings (-1..1, oldest first) into an SVG box."""
    if emotion is None or not emotion.points:
        return None
    points = emotion.points
    step = width / max(len(points) - 1, 1)
    pad = 4

    def y_of(score: float) -> float:
        return round(pad + (1 - score) / 2 * (height - 2 * pad), 1)

    dots = tuple(
        (round(i * step if len(points) > 1 else width / 2, 1), y_of(p.score), p.label)
        for i, p in enumerate(points)
    )
    return TrendChart(
        width=width,
        height=height,
        zero_y=y_of(0.0),
        polyline=" ".join(f"{x},{y}" for x, y, _ in dots),
        dots=dots,
    )


def people_assignable() -> QuerySet[Any]:
    """Agents and supervisors a conversation can be given to, with their presence."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[AGENTS, SUPERVISORS])
        .select_related("presence")
        .distinct()
        .order_by("username")
    )


def intents_known() -> tuple[str, ...]:
    """Intents a person may correct a prediction to: those replies and routes know."""
    from orchestrator.models import IntentRoute
    from orchestrator.replies import DEFAULT_TEMPLATES
    from orchestrator.routing import ASK_FOR_PERSON_INTENT

    known = set(DEFAULT_TEMPLATES) - {"clarify", "handoff", "acknowledge"}
    known |= set(IntentRoute.objects.values_list("intent", flat=True))
    known.add(ASK_FOR_PERSON_INTENT)
    return tuple(sorted(known))


def presence_of(*, user: AbstractBaseUser) -> AgentPresence | None:
    return AgentPresence.objects.filter(user=user).first()


# The SLA report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetShare:
    """How many answers were due, and the share given in time."""

    label: str
    due: int
    met: int

    @property
    def share(self) -> float | None:
        return self.met / self.due if self.due else None


def sla_report(*, since: dt.datetime) -> tuple[list[TargetShare], list[TargetShare]]:
    """Share of response targets met since a moment, per channel and per agent. A clock still
    running past its target counts as missed; one running in time is not counted yet."""
    now = timezone.now()
    decided = ResponseClock.objects.filter(started_at__gte=since).filter(
        Q(state=ResponseClock.State.ANSWERED) | Q(due_at__lt=now)
    )
    met = Q(answered_at__isnull=False, answered_at__lte=F("due_at"))
    by_channel = [
        TargetShare(label=row["channel"], due=row["due"], met=row["met"])
        for row in decided.values("channel")
        .annotate(due=Count("pk"), met=Count("pk", filter=met))
        .order_by("channel")
    ]
    by_agent = [
        TargetShare(label=row["agent__username"] or "(nobody)", due=row["due"], met=row["met"])
        for row in decided.values("agent__username")
        .annotate(due=Count("pk"), met=Count("pk", filter=met))
        .order_by("agent__username")
    ]
    return by_channel, by_agent
