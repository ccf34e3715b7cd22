"""The console's conversation page: the customer's context through the gate with the
partitions the person holds, and beside it what the orchestrator did with each turn.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from channels_app.console.access import ConsoleRole, conversations_visible
from channels_app.console.selectors.people import people_assignable
from memory.actors import Partition, UserActor
from memory.models import Handoff, Message
from memory.redaction import Redactor
from memory.selectors import (
    context_read,
    conversation_handoffs_recent,
    facts_replaced,
    merge_proposals_pending_for,
    message_corrected_intents,
    message_person_authors,
    sentiment_readings_by_message,
)
from orchestrator.models import AgentRun, PipelineRun, ReplyDraft, ResponseClock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.context import ContextPack, EmotionView
    from memory.models import Conversation, MergeProposal, SentimentReading

PAGE_PARTITIONS = (
    Partition.PROFILE,
    Partition.IDENTITIES,
    Partition.MESSAGES,
    Partition.BUSINESS,
    Partition.EMOTION,
    Partition.PII,
)
PAGE_TURNS = 200


@dataclass(frozen=True)
class AgentStep:
    name: str
    status: str
    partitions: tuple[str, ...]
    latency_ms: float
    output: dict[str, Any]
    error: str
    started_at: dt.datetime | None = None

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
class ReplacedFact:
    """A value a fact held before, as the person may see it (masked without `pii`)."""

    value: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None


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
    # Whether the person may act on this turn (correct its intent): its own conversation is
    # one they may open.
    actionable: bool = False


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
    fact_history: dict[str, tuple[ReplacedFact, ...]]
    trend: TrendChart | None
    handoffs: tuple[Handoff, ...]
    open_handoff: Handoff | None
    running_clock: ResponseClock | None
    draft: ReplyDraft | None
    merge_proposals: tuple[MergeProposal, ...]
    assignable: tuple[Any, ...] = field(default=())
    intents: tuple[str, ...] = field(default=())
    # The pending draft's words as this person may see them; they edit it only with `pii`
    # (an edit of masked words would send the masks to the customer).
    draft_text: str = ""
    draft_editable: bool = False


def conversation_page_read(
    *, user: User, role: ConsoleRole, conversation_id: int
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
    handoffs = tuple(conversation_handoffs_recent(conversation=conversation, limit=10))
    # Everything shown beside the pack is masked as the pack is, one token per detail.
    redactor = None if Partition.PII in pack.partitions else Redactor()
    draft = ReplyDraft.objects.filter(
        conversation=conversation, status=ReplyDraft.Status.PENDING
    ).first()
    return ConversationPage(
        conversation=conversation,
        pack=pack,
        timeline=_timeline(
            conversation=conversation,
            pack=pack,
            redactor=redactor,
            actionable=_conversations_actionable(user=user, role=role, pack=pack),
        ),
        fact_history=(
            _fact_history(pack, redactor) if Partition.BUSINESS in pack.partitions else {}
        ),
        trend=trend_chart(pack.emotion),
        handoffs=handoffs,
        open_handoff=next((h for h in handoffs if h.status != Handoff.Status.RELEASED), None),
        running_clock=ResponseClock.objects.filter(
            conversation=conversation, state=ResponseClock.State.RUNNING
        ).first(),
        draft=draft,
        merge_proposals=tuple(merge_proposals_pending_for(customer_id=conversation.customer_id)),
        assignable=tuple(people_assignable()) if role is ConsoleRole.SUPERVISOR else (),
        intents=intents_known(),
        draft_text=_masked(draft.text, redactor) if draft is not None else "",
        draft_editable=redactor is None,
    )


def _conversations_actionable(*, user: User, role: ConsoleRole, pack: ContextPack) -> set[int]:
    """Which of the conversations on the timeline the person may open, so act on; one query."""
    ids = {turn.conversation_id for turn in pack.turns}
    return set(
        conversations_visible(user=user, role=role).filter(pk__in=ids).values_list("pk", flat=True)
    )


def _masked(value: Any, redactor: Redactor | None) -> Any:
    """A trace's value (text, or JSON of texts) with contact details masked, when asked."""
    if redactor is None:
        return value
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {key: _masked(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, redactor) for item in value]
    return value


def _timeline(
    *,
    conversation: Conversation,
    pack: ContextPack,
    redactor: Redactor | None,
    actionable: set[int],
) -> tuple[TimelineItem, ...]:
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
        readings = sentiment_readings_by_message(message_ids=ids)
    people = message_person_authors(message_ids=ids)
    corrections = message_corrected_intents(message_ids=ids)
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
                trace=_trace(run, corrections.get(turn.message_id, ""), redactor) if run else None,
                here=turn.conversation_id == conversation.pk,
                actionable=turn.conversation_id in actionable,
            )
        )
    return tuple(items)


def _author_label(author: str, username: str | None) -> str:
    if author == Message.Author.HUMAN:
        return username or "a person"
    return dict(Message.Author.choices).get(author, author)


def _trace(run: PipelineRun, corrected: str, redactor: Redactor | None) -> Trace:
    """What the orchestrator did; what its agents found and wrote (a stated address, a phone
    in a signature) is masked as the turn's own words are."""
    return Trace(
        run_id=run.pk,
        path=run.get_path_display(),
        status=run.get_status_display(),
        plan=_masked(run.plan, redactor),
        agents=tuple(
            AgentStep(
                name=step.agent_name,
                status=step.status,
                partitions=tuple(step.partitions),
                latency_ms=step.latency_ms,
                output=_masked(step.output, redactor),
                error=_masked(step.error, redactor),
                started_at=step.started_at,
            )
            for step in run.agent_runs.all()
        ),
        merge=_masked(run.merge, redactor),
        decision=_masked(run.decision, redactor),
        timings=run.timings,
        total_ms=run.total_ms,
        intent=str(run.decision.get("intent") or ""),
        corrected_intent=corrected,
    )


def _fact_history(
    pack: ContextPack, redactor: Redactor | None
) -> dict[str, tuple[ReplacedFact, ...]]:
    """The replaced versions of the customer's current facts, newest first, per key: read
    under the business partition the gate granted, and masked as the pack is without `pii`
    (a replaced address is as personal as the current one)."""
    keys = {fact.key for fact in pack.facts}
    history: dict[str, list[ReplacedFact]] = {}
    for fact in facts_replaced(customer_id=pack.customer_id, keys=keys):
        history.setdefault(fact.key, []).append(
            ReplacedFact(
                value=_masked(fact.value, redactor),
                valid_from=fact.valid_from,
                valid_until=fact.valid_until,
            )
        )
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


def intents_known() -> tuple[str, ...]:
    """Intents a person may correct a prediction to: those replies and routes know."""
    from orchestrator.models import IntentRoute
    from orchestrator.replies import DEFAULT_TEMPLATES
    from orchestrator.routing import ASK_FOR_PERSON_INTENT

    known = set(DEFAULT_TEMPLATES) - {"clarify", "handoff", "acknowledge"}
    known |= set(IntentRoute.objects.values_list("intent", flat=True))
    known.add(ASK_FOR_PERSON_INTENT)
    return tuple(sorted(known))
