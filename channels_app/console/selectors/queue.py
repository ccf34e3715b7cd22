"""The console's live queue: every conversation a person may work, what needs a person first,
paged and filtered, with counts per state. The customers on a page are read through the gate
in one read (`context_read_conversations`): one audit entry per person and page, and a fixed
number of queries however many rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from channels_app.console.access import ConsoleRole
from memory.actors import Partition, UserActor
from memory.models import Channel, Conversation, Message
from memory.selectors.gate import context_read_conversations
from memory.selectors.work import (
    WORK_OPEN,
    WORK_RESOLVED,
    WORK_SNOOZED,
    conversations_assigned_to,
    conversations_for_console,
    conversations_matching,
)
from orchestrator.models import PipelineRun, ReplyDraft, ResponseClock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from channels_app.console.selectors.alerts import AlertGroup
    from channels_app.console.selectors.people import RosterEntry
    from memory.context import ContextPack

# What a queue row shows of a customer; `pii` only for those who hold it (masked otherwise).
QUEUE_PARTITIONS = (
    Partition.PROFILE,
    Partition.IDENTITIES,
    Partition.MESSAGES,
    Partition.EMOTION,
    Partition.PII,
)
PAGE_SIZE_MAX = 100

# The queue's views of the conversations a person may see: what they are filtered to, and
# what the tabs count. `open` is every open conversation; the modes narrow it.
VIEWS: dict[str, str] = {
    "open": "All open",
    Conversation.Mode.HANDED_OFF: "Handed off",
    Conversation.Mode.WITH_PERSON: "With a person",
    Conversation.Mode.APPROVAL: "Approval",
    Conversation.Mode.AUTOMATED: "Automated",
    WORK_SNOOZED: "Snoozed",
    WORK_RESOLVED: "Resolved",
}


class Bucket:
    """What needs a person first: the queue sorts on these, lowest first."""

    WAITING_FOR_PERSON = 0
    DRAFT_TO_APPROVE = 1
    CUSTOMER_WAITING = 2
    WITH_PERSON = 3
    AUTOMATED = 4


@dataclass(frozen=True)
class QueueFilter:
    """What the person narrowed the queue to; parsed from the page's query string."""

    view: str = "open"
    channel: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    breaching: bool = False
    search: str = ""
    page: int = 1
    page_size: int = 0

    @classmethod
    def parse(cls, query: Any) -> QueueFilter:
        """From a QueryDict (or a dict); anything unknown is left out rather than refused."""
        view = str(query.get("view", "open") or "open")
        channel = str(query.get("channel", "") or "")
        assignee = str(query.get("assignee", "") or "")
        try:
            page = max(1, int(query.get("page", 1) or 1))
        except (TypeError, ValueError):
            page = 1
        return cls(
            view=view if view in VIEWS else "open",
            channel=channel if channel in Channel.values else "",
            assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
            breaching=str(query.get("breaching", "")) in ("1", "on", "true"),
            search=str(query.get("q", "") or "").strip()[:100],
            page=page,
        )

    @property
    def size(self) -> int:
        return min(self.page_size or settings.CONSOLE_QUEUE_LIMIT, PAGE_SIZE_MAX)

    def query(self, **changes: Any) -> str:
        """This filter as a query string, with some values changed (a tab, the next page)."""
        from urllib.parse import urlencode

        current = dataclasses.replace(self, **changes)
        pairs = {
            "view": current.view if current.view != "open" else "",
            "channel": current.channel,
            "assignee": current.assignee,
            "breaching": "1" if current.breaching else "",
            "q": current.search,
            "page": str(current.page) if current.page > 1 else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})


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
    work_state: str
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
    breaching: bool
    assigned_to: str
    assigned_to_id: int | None
    draft_pending: bool
    angry: bool
    labels: tuple[str, ...] = ()
    snoozed_until: dt.datetime | None = None
    # Churn risk / buying intent at medium or high: ("churn_risk", "high"), strongest first.
    signals: tuple[tuple[str, str], ...] = ()

    @property
    def sort_key(self) -> tuple[int, int, float, int]:
        """Overdue first, then what needs a person, the soonest due (or the longest waiting),
        the angriest."""
        deadline = self.sla_due_at or self.waiting_since
        return (
            0 if self.breaching else 1,
            self.bucket,
            deadline.timestamp() if deadline else float("inf"),
            0 if self.angry else 1,
        )

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        for key in ("last_message_at", "waiting_since", "sla_due_at", "snoozed_until"):
            raw[key] = raw[key].isoformat() if raw[key] else None
        raw["labels"] = list(self.labels)
        raw["signals"] = [list(signal) for signal in self.signals]
        breaching, bucket, deadline, calm = self.sort_key
        raw["sort_key"] = [breaching, bucket, deadline if deadline != float("inf") else None, calm]
        return raw


@dataclass(frozen=True)
class QueueFigures:
    """The live figures over the head of the queue."""

    waiting_now: int
    longest_wait_since: dt.datetime | None
    sla_due: int
    sla_met: int
    volume_last_hour: int

    @property
    def sla_share(self) -> int | None:
        return round(100 * self.sla_met / self.sla_due) if self.sla_due else None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and everything around it."""

    rows: list[QueueRow]
    filters: QueueFilter
    counts: dict[str, int]
    total: int
    pages: int
    figures: QueueFigures
    alerts: list[AlertGroup] = field(default_factory=list)
    roster: list[RosterEntry] = field(default_factory=list)

    @property
    def tabs(self) -> list[tuple[str, str, int, str]]:
        """(view, label, count, query string) per tab, in order."""
        return [
            (view, label, self.counts.get(view, 0), self.filters.query(view=view, page=1))
            for view, label in VIEWS.items()
        ]

    @property
    def previous_query(self) -> str | None:
        page = self.filters.page
        return self.filters.query(page=page - 1) if page > 1 else None

    @property
    def next_query(self) -> str | None:
        page = self.filters.page
        return self.filters.query(page=page + 1) if page < self.pages else None

    @property
    def first_row(self) -> int:
        return (self.filters.page - 1) * self.filters.size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.filters.page - 1) * self.filters.size + len(self.rows)


def _queue_conversations(*, user: User, role: ConsoleRole, now: dt.datetime) -> QuerySet[Any]:
    """The conversations the person may see, not closed, with what the queue sorts and shows
    on them besides customer context: work state, handoff, clock, draft, intent, how angry."""
    running = ResponseClock.objects.filter(state=ResponseClock.State.RUNNING)
    this_running = running.filter(conversation=OuterRef("pk"))
    latest_run = PipelineRun.objects.filter(conversation=OuterRef("pk")).order_by(
        "-started_at", "-pk"
    )
    conversations: QuerySet[Any] = (
        conversations_for_console(
            user_id=user.pk, supervisor=role is ConsoleRole.SUPERVISOR, now=now
        )
        .prefetch_related(
            Prefetch("response_clocks", queryset=running, to_attr="running_clocks"),
        )
        .annotate(
            draft_pending=Exists(
                ReplyDraft.objects.filter(
                    conversation=OuterRef("pk"), status=ReplyDraft.Status.PENDING
                )
            ),
            clock_running=Exists(this_running),
            due_at=Subquery(this_running.order_by("due_at").values("due_at")[:1]),
            breaching=_breaching(now),
            intent=Subquery(latest_run.values("decision__intent")[:1]),
            waiting_since=Coalesce(
                Subquery(this_running.order_by("started_at").values("started_at")[:1]),
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
    )
    return conversations


def _breaching(now: dt.datetime) -> Exists:
    """Whether the conversation has an answer past its target."""
    return Exists(
        ResponseClock.objects.filter(
            conversation=OuterRef("pk"), state=ResponseClock.State.RUNNING, due_at__lt=now
        )
    )


def _ordered(conversations: QuerySet[Any]) -> QuerySet[Any]:
    return conversations.order_by(
        F("breaching").desc(),
        "bucket",
        Coalesce("due_at", "waiting_since").asc(nulls_last=True),
        "calm",
        "-last_message_at",
        "-pk",
    )


def _narrowed(conversations: QuerySet[Any], *, user: User, filters: QueueFilter) -> QuerySet[Any]:
    """Every filter but the view (the tabs count across views)."""
    if filters.channel:
        conversations = conversations.filter(channel=filters.channel)
    if filters.assignee == "me":
        conversations = conversations_assigned_to(conversations, user_id=user.pk)
    elif filters.assignee == "none":
        conversations = conversations_assigned_to(conversations, user_id=None)
    elif filters.assignee:
        conversations = conversations_assigned_to(conversations, user_id=int(filters.assignee))
    if filters.breaching:
        conversations = conversations.filter(breaching=True)
    return conversations_matching(conversations, filters.search)


def _in_view(conversations: QuerySet[Any], view: str) -> QuerySet[Any]:
    if view in (WORK_SNOOZED, WORK_RESOLVED):
        return conversations.filter(work_state=view)
    conversations = conversations.filter(work_state=WORK_OPEN)
    return conversations if view == "open" else conversations.filter(mode=view)


def _counts(conversations: QuerySet[Any], *, now: dt.datetime) -> dict[str, int]:
    """Conversations per view, in one query. (An aggregate's filter cannot name an `Exists`
    annotation, so the breaching test is spelled out again.)"""
    open_now = Q(work_state=WORK_OPEN)
    aggregates: dict[str, Any] = {"open": Count("pk", filter=open_now)}
    for mode in Conversation.Mode.values:
        aggregates[mode] = Count("pk", filter=open_now & Q(mode=mode))
    aggregates[WORK_SNOOZED] = Count("pk", filter=Q(work_state=WORK_SNOOZED))
    aggregates[WORK_RESOLVED] = Count("pk", filter=Q(work_state=WORK_RESOLVED))
    aggregates["breaching"] = Count("pk", filter=open_now & Q(_breaching(now)))
    return {key: int(value or 0) for key, value in conversations.aggregate(**aggregates).items()}


def _figures(conversations: QuerySet[Any], *, now: dt.datetime) -> QueueFigures:
    """Waiting now and the longest wait (over what the person sees), the share of answers in
    time over the last day (calls that ended while waiting are left out: nobody can answer
    them), and the customer turns of the last hour."""
    from memory.selectors.work import messages_inbound_count_since

    waiting = conversations.filter(work_state=WORK_OPEN, waiting_since__isnull=False).aggregate(
        waiting=Count("pk"), longest=Min("waiting_since")
    )
    decided = (
        ResponseClock.objects.filter(started_at__gte=now - dt.timedelta(days=1))
        .filter(
            Q(state=ResponseClock.State.ANSWERED)
            | Q(state=ResponseClock.State.RUNNING, due_at__lt=now)
        )
        .exclude(state=ResponseClock.State.RUNNING, conversation__status=Conversation.Status.CLOSED)
        .aggregate(
            due=Count("pk"),
            met=Count("pk", filter=Q(answered_at__isnull=False, answered_at__lte=F("due_at"))),
        )
    )
    return QueueFigures(
        waiting_now=waiting["waiting"] or 0,
        longest_wait_since=waiting["longest"],
        sla_due=decided["due"] or 0,
        sla_met=decided["met"] or 0,
        volume_last_hour=messages_inbound_count_since(since=now - dt.timedelta(hours=1)),
    )


def queue_page_read(*, user: User, role: ConsoleRole, filters: QueueFilter) -> QueuePage:
    """One page of the queue, its counts and live figures; for a supervisor, the alerts and
    the roster too. The page's customers (rows and alerts alike) are one gate read."""
    from channels_app.console.selectors.alerts import alerts_grouped, alerts_read
    from channels_app.console.selectors.people import roster_read

    now = timezone.now()
    visible = _queue_conversations(user=user, role=role, now=now)
    narrowed = _narrowed(visible, user=user, filters=filters)
    counts = _counts(narrowed, now=now)
    total = counts.get(filters.view, 0)
    pages = max(1, -(-total // filters.size))
    page = min(filters.page, pages)
    if page != filters.page:
        filters = dataclasses.replace(filters, page=page)
    start = (page - 1) * filters.size
    conversations = list(_ordered(_in_view(narrowed, filters.view))[start : start + filters.size])
    supervisor = role is ConsoleRole.SUPERVISOR
    alerts = alerts_read(now=now) if supervisor else []
    ids = [c.pk for c in conversations] + [a.conversation_id for a in alerts if a.conversation_id]
    packs = _page_packs(user=user, conversation_ids=ids, purpose="console: live queue page")
    return QueuePage(
        rows=[_queue_row(conversation=c, pack=packs.get(c.pk)) for c in conversations],
        filters=filters,
        counts=counts,
        total=total,
        pages=pages,
        figures=_figures(visible, now=now),
        alerts=alerts_grouped(
            [
                dataclasses.replace(a, customer_name=customer_name(packs[a.conversation_id]))
                if a.conversation_id in packs
                else a
                for a in alerts
            ]
        ),
        roster=roster_read() if supervisor else [],
    )


def queue_row_read(*, user: User, role: ConsoleRole, conversation_id: int) -> QueueRow | None:
    """One conversation's queue row (a live push), None when the person may not see it or it
    ended. Resolved and snoozed ones come back too: the page decides whether to show them."""
    return queue_rows_read(user=user, role=role, conversation_ids=[conversation_id]).get(
        conversation_id
    )


def queue_rows_read(
    *, user: User, role: ConsoleRole, conversation_ids: list[int]
) -> dict[int, QueueRow]:
    """The queue rows of a batch of live pushes, by conversation, leaving out what the person
    may not see or what ended: one gate read (one audit entry naming every row) however many
    conversations the batch touched, not one per row."""
    now = timezone.now()
    conversations = list(
        _queue_conversations(user=user, role=role, now=now).filter(pk__in=conversation_ids)
    )
    if not conversations:
        return {}
    ids = sorted(c.pk for c in conversations)
    label = ", ".join(f"#{pk}" for pk in ids[:12]) + (" …" if len(ids) > 12 else "")
    packs = _page_packs(
        user=user,
        conversation_ids=ids,
        purpose=f"console: live queue, conversation{'s' if len(ids) > 1 else ''} {label}",
    )
    return {c.pk: _queue_row(conversation=c, pack=packs.get(c.pk)) for c in conversations}


def _page_packs(*, user: User, conversation_ids: list[int], purpose: str) -> dict[int, ContextPack]:
    actor = UserActor(user)
    # Only what the person holds is asked for (masked without `pii`), so a narrower role
    # sees narrower rows instead of a refused page.
    partitions = [p for p in QUEUE_PARTITIONS if actor.may_read(p)]
    if not partitions:
        return {}
    return context_read_conversations(
        actor=actor,
        conversation_ids=conversation_ids,
        partitions=partitions,
        purpose=purpose,
        correlation_id=f"console:queue:{user.pk}:{timezone.now():%Y%m%dT%H%M%S%f}",
    )


def customer_name(pack: ContextPack | None, customer_id: int | None = None) -> str:
    """The name a person calls the customer by: their name, else an address (masked as the
    person's scope says), else their record number."""
    if pack is not None:
        if pack.profile is not None and pack.profile.display_name.strip():
            return pack.profile.display_name
        if pack.identities:
            return pack.identities[0].value
        customer_id = pack.customer_id
    return f"Customer #{customer_id}" if customer_id else "A customer"


def _queue_row(*, conversation: Any, pack: ContextPack | None) -> QueueRow:
    # What the customer last said in THIS conversation is what a person triages by; a reply
    # since is only marked.
    turns = [t for t in (pack.turns if pack else ()) if t.conversation_id == conversation.pk]
    said = next((t for t in turns if t.direction == Message.Direction.INBOUND), None)
    answered = bool(turns) and turns[0].direction == Message.Direction.OUTBOUND
    handoff = conversation.open_handoffs[0] if conversation.open_handoffs else None
    clock = conversation.running_clocks[0] if conversation.running_clocks else None
    emotion = pack.emotion if pack else None
    assignee = handoff.assigned_to if handoff is not None else None
    return QueueRow(
        conversation_id=conversation.pk,
        customer_id=conversation.customer_id,
        customer_name=customer_name(pack, conversation.customer_id),
        channel=conversation.channel,
        channel_label=conversation.get_channel_display(),
        mode=conversation.mode,
        mode_label=MODE_LABELS.get(conversation.mode, conversation.mode),
        work_state=conversation.work_state,
        bucket=conversation.bucket,
        last_message=said.text if said else "",
        last_message_at=said.sent_at if said else None,
        answered=answered,
        intent=conversation.intent or "",
        mood_label=emotion.label if emotion else "",
        mood_score=emotion.score if emotion else None,
        waiting_since=conversation.waiting_since,
        sla_due_at=clock.due_at if clock else None,
        sla_kind=clock.get_kind_display() if clock else "",
        breaching=bool(conversation.breaching),
        assigned_to=_person_name(assignee) if assignee is not None else "",
        assigned_to_id=assignee.pk if assignee is not None else None,
        draft_pending=conversation.draft_pending,
        angry=conversation.calm == 0,
        labels=tuple(label.name for label in conversation.label_list),
        snoozed_until=conversation.snoozed_until,
        signals=tuple(
            (signal.kind, signal.level)
            for signal in (pack.signals if pack else ())
            if signal.level != "low"
        ),
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
