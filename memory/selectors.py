"""Reads of the graph. `context_read` is the gate: the one way to read a customer's context,
and every call through it leaves an ACCESS entry in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from auditlog.cid import get_cid
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from opentelemetry import trace

from memory.actors import ALL_PARTITIONS, Actor, Partition
from memory.audit import access_record
from memory.context import (
    CaseView,
    ContextPack,
    EmotionView,
    FactView,
    IdentityView,
    ProfileView,
    SentimentPoint,
    TurnView,
)
from memory.models import (
    AuditEntry,
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    Message,
    SentimentReading,
)
from memory.redaction import Redactor

if TYPE_CHECKING:
    from collections.abc import Iterable

_tracer = trace.get_tracer("rapport.memory.gate")


class ContextAccessRefused(PermissionError):
    """The actor asked for partitions outside its scope, or may not read now; nothing was read."""

    def __init__(self, actor: Actor, refused: frozenset[Partition], reason: str = "") -> None:
        names = ", ".join(sorted(p.value for p in refused))
        super().__init__(
            f"{actor.label} may not read: {names}" + (f" ({reason})" if reason else "")
        )
        self.actor = actor
        self.refused = refused
        self.reason = reason


def context_read(
    *,
    actor: Actor,
    customer: Customer | int,
    partitions: Iterable[Partition | str],
    purpose: str,
    correlation_id: str = "",
    recent_turns: int | None = None,
) -> ContextPack:
    """Hand `actor` the asked partitions of a customer's context, and record that it did.

    Refuses the whole read if any partition is outside the actor's scope, or if the watch
    on agents says no (quarantined, no pipeline run behind the read); refusals are recorded
    too. Without `pii` every text comes with contact details masked. The number of queries
    is fixed, whatever the length of the customer's history.
    """
    if not purpose.strip():
        raise ValueError("a context read needs a purpose")
    asked = Partition.parse([str(p) for p in partitions])
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    with _gate(
        actor=actor, customer=customer, asked=asked, purpose=purpose, correlation_id=correlation_id
    ) as grant:
        pack = _assemble(
            customer=customer,
            asked=asked,
            actor=actor,
            purpose=purpose,
            correlation_id=grant.correlation_id,
            recent_turns=recent_turns or settings.RAPPORT_CONTEXT_RECENT_TURNS,
        )
        return pack if Partition.PII in asked else redact_pack(pack)


def customer_dossier_read(
    *, actor: Actor, customer: Customer | int, purpose: str, correlation_id: str = ""
) -> CustomerDossier:
    """Everything held about a customer, for a data subject's access request: the gate's
    other shape, under the same checks and audit, and only for an actor holding every
    partition (pii included)."""
    if not purpose.strip():
        raise ValueError("a context read needs a purpose")
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    with _gate(
        actor=actor,
        customer=customer,
        asked=ALL_PARTITIONS,
        purpose=purpose,
        correlation_id=correlation_id,
    ):
        return _dossier(customer)


@dataclass
class _Grant:
    correlation_id: str


@contextmanager
def _gate(
    *,
    actor: Actor,
    customer: Customer,
    asked: frozenset[Partition],
    purpose: str,
    correlation_id: str,
) -> Iterator[_Grant]:
    """Admit or refuse one read, and record it either way (with its trace span and the watch
    on agents); the body between admission and record is the read itself."""
    started = time.perf_counter()
    recorded_id = correlation_id or get_cid() or f"read:{uuid.uuid4().hex[:20]}"
    attributes = {
        "rapport.actor": actor.label,
        "rapport.customer_id": customer.pk,
        "rapport.partitions": sorted(p.value for p in asked),
        "rapport.purpose": purpose,
        "rapport.correlation_id": recorded_id,
    }
    with _tracer.start_as_current_span("rapport.context_read", attributes=attributes) as span:
        watch = _watch_begin(
            actor=actor, customer_id=customer.pk, correlation_id=correlation_id, started=started
        )
        refused = frozenset(p for p in asked if not actor.may_read(p))
        reason = watch.refusal if watch is not None else None
        if refused or reason:
            detail: dict[str, object] = {"refused": sorted(p.value for p in refused or asked)}
            if reason:
                detail["reason"] = reason
            entry = access_record(
                actor=actor,
                customer=customer,
                partitions=asked,
                purpose=purpose,
                outcome=AuditEntry.Outcome.REFUSED,
                correlation_id=recorded_id,
                detail=detail,
            )
            span.set_attribute("rapport.outcome", AuditEntry.Outcome.REFUSED.value)
            span.set_attribute("rapport.audit_seq", entry.seq or 0)
            if watch is not None:
                watch.observe(entry=entry)
            raise ContextAccessRefused(actor, refused or asked, reason or "")
        yield _Grant(correlation_id=recorded_id)
        entry = access_record(
            actor=actor,
            customer=customer,
            partitions=asked,
            purpose=purpose,
            outcome=AuditEntry.Outcome.GRANTED,
            correlation_id=recorded_id,
        )
        span.set_attribute("rapport.outcome", AuditEntry.Outcome.GRANTED.value)
        span.set_attribute("rapport.audit_seq", entry.seq or 0)
        if watch is not None and watch.observe(entry=entry) is not None:
            span.add_event("rapport.agent_quarantined", {"rapport.actor": actor.label})


class _Watch(Protocol):
    @property
    def refusal(self) -> str | None: ...

    def observe(self, *, entry: AuditEntry) -> object | None: ...


def _watch_begin(
    *, actor: Actor, customer_id: int, correlation_id: str, started: float
) -> _Watch | None:
    """The watch on agents' reads (RAPPORT_ACCESS_WATCH), which lives with the agents."""
    path = settings.RAPPORT_ACCESS_WATCH
    if not path:
        return None
    begin: Callable[..., _Watch | None] = import_string(path)
    return begin(
        actor=actor, customer_id=customer_id, correlation_id=correlation_id, started=started
    )


def redact_pack(pack: ContextPack) -> ContextPack:
    """The pack with contact details masked in every text it carries, one token per detail."""
    redactor = Redactor()
    identities = tuple(
        replace(i, value=redactor.identity(i.kind, i.value)) for i in pack.identities
    )
    profile = pack.profile
    if profile is not None:
        profile = replace(profile, display_name=redactor.text(profile.display_name))
    return replace(
        pack,
        profile=profile,
        identities=identities,
        open_cases=tuple(
            replace(c, title=redactor.text(c.title), reference=redactor.text(c.reference))
            for c in pack.open_cases
        ),
        facts=tuple(replace(f, value=redactor.text(f.value)) for f in pack.facts),
        turns=tuple(
            replace(t, text=redactor.text(t.text), gist=redactor.text(t.gist)) for t in pack.turns
        ),
        superseded=tuple(dict.fromkeys(redactor.text(value) for value in pack.superseded)),
    )


def _assemble(
    *,
    customer: Customer,
    asked: frozenset[Partition],
    actor: Actor,
    purpose: str,
    correlation_id: str,
    recent_turns: int,
) -> ContextPack:
    profile = identities = None
    cases: tuple[CaseView, ...] = ()
    facts: tuple[FactView, ...] = ()
    turns: tuple[TurnView, ...] = ()
    emotion = None

    if Partition.PROFILE in asked:
        profile = ProfileView(
            customer_id=customer.pk,
            display_name=customer.display_name,
            customer_since=customer.created_at,
        )
    if Partition.IDENTITIES in asked:
        identities = tuple(
            IdentityView(
                kind=identity.kind,
                value=identity.value,
                verified=identity.verified,
            )
            for identity in Identity.objects.filter(customer=customer).order_by("kind", "pk")
        )
    superseded: tuple[str, ...] = ()
    if Partition.BUSINESS in asked:
        cases, facts, superseded = _business(customer)
    if Partition.MESSAGES in asked:
        messages = Message.objects.filter(customer=customer).order_by("-sent_at", "-pk")
        turns = tuple(
            TurnView(
                message_id=m.pk,
                conversation_id=m.conversation_id,
                channel=m.channel,
                direction=m.direction,
                author=m.author,
                text=m.text,
                sent_at=m.sent_at,
                gist=m.gist,
                is_filler=m.is_filler,
            )
            for m in messages.only(
                "pk",
                "conversation_id",
                "channel",
                "direction",
                "author",
                "text",
                "sent_at",
                "gist",
                "is_filler",
            )[:recent_turns]
        )
    if Partition.EMOTION in asked:
        emotion = emotion_trend(customer)

    return ContextPack(
        customer_id=customer.pk,
        actor_label=actor.label,
        purpose=purpose,
        partitions=asked,
        read_at=timezone.now(),
        correlation_id=correlation_id,
        profile=profile,
        identities=identities or (),
        open_cases=cases,
        facts=facts,
        turns=turns,
        emotion=emotion,
        versions=_versions(customer, asked),
        superseded=superseded,
    )


CustomerDossier = dict[str, Any]


def _dossier(customer: Customer) -> CustomerDossier:
    """Every row held about one customer, JSON-ready; a query per kind of row."""
    from django.contrib.contenttypes.models import ContentType

    def rows(queryset: Any, *fields: str) -> list[dict[str, Any]]:
        return [_json_ready(row) for row in queryset.values(*fields)]

    customer_type = ContentType.objects.get_for_model(Customer)
    return {
        "profile": _json_ready(
            {
                "customer_id": customer.pk,
                "display_name": customer.display_name,
                "external_id": customer.external_id,
                "created_at": customer.created_at,
                "erased_at": customer.erased_at,
            }
        ),
        "identities": rows(
            Identity.objects.filter(customer=customer).order_by("pk"),
            "kind",
            "value",
            "verified",
            "source",
            "created_at",
        ),
        "conversations": rows(
            Conversation.objects.filter(customer=customer).order_by("started_at", "pk"),
            "id",
            "channel",
            "status",
            "subject",
            "summary",
            "mode",
            "started_at",
            "last_message_at",
            "closed_at",
        ),
        "messages": rows(
            Message.objects.filter(customer=customer).order_by("sent_at", "pk"),
            "id",
            "conversation_id",
            "channel",
            "direction",
            "author",
            "author_agent",
            "text",
            "raw_text",
            "gist",
            "delivery_status",
            "sent_at",
        ),
        "cases": rows(
            Case.objects.filter(customer=customer).order_by("opened_at", "pk"),
            "id",
            "kind",
            "reference",
            "status",
            "title",
            "opened_at",
            "closed_at",
        ),
        "facts": rows(
            Fact.objects.filter(customer=customer).order_by("key", "valid_from", "pk"),
            "id",
            "key",
            "value",
            "case_id",
            "confidence",
            "asserted_by",
            "asserted_by_agent",
            "source_message_id",
            "valid_from",
            "valid_until",
            "replaced_by_id",
        ),
        "sentiment": rows(
            SentimentReading.objects.filter(customer=customer).order_by("read_at", "pk"),
            "message_id",
            "label",
            "score",
            "confidence",
            "model_name",
            "read_at",
        ),
        "merges": rows(
            CustomerMerge.objects.filter(target=customer).order_by("merged_at"),
            "source_customer_id",
            "merged_by",
            "reason",
            "merged_at",
        ),
        "access_log": rows(
            AuditEntry.objects.filter(
                content_type=customer_type,
                object_id=customer.pk,
                action=AuditEntry.Action.ACCESS,
            ).order_by("timestamp", "pk"),
            "timestamp",
            "actor_label",
            "purpose",
            "partitions",
            "outcome",
            "cid",
        ),
    }


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in row.items()
    }


def _versions(customer: Customer, asked: frozenset[Partition]) -> dict[str, int]:
    """The versions of the versioned partitions read, from the customer row already loaded."""
    versions = {
        Partition.PROFILE.value: customer.profile_version,
        Partition.BUSINESS.value: customer.business_version,
    }
    return {name: version for name, version in versions.items() if name in asked}


def _business(
    customer: Customer,
) -> tuple[tuple[CaseView, ...], tuple[FactView, ...], tuple[str, ...]]:
    """Open cases, current facts (the customer's own and their open cases'), and the values
    since replaced; two queries however long the history.
    """
    open_cases = list(
        Case.objects.filter(customer=customer, status__in=Case.OPEN_STATUSES).order_by(
            "-updated_at", "-pk"
        )
    )
    open_case_ids = {case.pk for case in open_cases}
    versions = list(
        Fact.objects.filter(customer=customer)
        .select_related("case")
        .only(
            "pk",
            "key",
            "value",
            "confidence",
            "valid_from",
            "valid_until",
            "asserted_by",
            "source_message_id",
            "case_id",
            "case__reference",
        )
        .order_by("-valid_from", "-pk")
    )
    current = [fact for fact in versions if fact.valid_until is None]
    facts = tuple(
        FactView(
            fact_id=fact.pk,
            key=fact.key,
            value=fact.value,
            confidence=fact.confidence,
            valid_from=fact.valid_from,
            asserted_by=fact.asserted_by,
            source_message_id=fact.source_message_id,
            case_reference=fact.case.reference if fact.case is not None else None,
        )
        for fact in current
        if fact.case_id is None or fact.case_id in open_case_ids
    )
    still_true = {fact.value.casefold() for fact in current}
    still_true |= {case.reference.casefold() for case in open_cases}
    superseded = tuple(
        dict.fromkeys(
            fact.value
            for fact in versions
            if fact.valid_until is not None and fact.value.casefold() not in still_true
        )
    )
    cases = tuple(
        CaseView(
            case_id=case.pk,
            kind=case.kind,
            reference=case.reference,
            status=case.status,
            title=case.title,
            opened_at=case.opened_at,
            updated_at=case.updated_at,
        )
        for case in open_cases
    )
    return cases, facts, superseded


def emotion_trend(customer: Customer) -> EmotionView | None:
    """The customer's mood: how their latest real turn reads, and where it is heading.

    Turns that said nothing and felt nothing ("ok", an auto-reply, a dropped call) are left
    out, so the mood stays what the last real turn made it. The score weighs recent readings
    most (a reading `k` places back counts 0.5 ** (k / half_life)); the direction compares
    the newer half of the window with the older one.
    """
    readings = [
        reading
        for reading in SentimentReading.objects.filter(customer=customer)
        .select_related("message")
        .only("read_at", "label", "score", "message__is_filler")
        .order_by("-read_at", "-pk")[: settings.RAPPORT_EMOTION_WINDOW]
        if not (reading.message.is_filler and reading.label == SentimentReading.Label.NEUTRAL)
    ]
    if not readings:
        return None
    half_life = settings.RAPPORT_EMOTION_HALF_LIFE
    weights = [math.pow(0.5, rank / half_life) for rank in range(len(readings))]
    score = sum(w * r.score for w, r in zip(weights, readings, strict=True)) / sum(weights)
    newer, older = readings[: len(readings) // 2 or 1], readings[len(readings) // 2 :]
    shift = _mean(r.score for r in newer) - _mean(r.score for r in older or newer)
    direction = "improving" if shift > 0.2 else "worsening" if shift < -0.2 else "steady"
    points = tuple(
        SentimentPoint(at=r.read_at, label=r.label, score=r.score) for r in reversed(readings)
    )
    return EmotionView(
        label=readings[0].label, score=round(score, 3), direction=direction, points=points
    )


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def mask_identity(identity: Identity) -> str:
    """A contact detail with most of it hidden: +1******0101, a***@example.com."""
    value = identity.value
    if identity.kind == Identity.Kind.EMAIL and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) > 6:
        return value[:2] + "*" * (len(value) - 6) + value[-4:]
    return "*" * len(value)


def cases_find_by_reference_keys(*, keys: Iterable[str]) -> list[Case]:
    """Cases whose reference, reduced to letters and digits, is one of `keys` (no context)."""
    wanted = {key for key in keys if len(key) >= 5}
    if not wanted:
        return []
    return list(
        Case.objects.filter(reference_key__in=wanted).only(
            "pk", "customer_id", "kind", "reference", "status"
        )
    )


def customer_find_by_identity(*, kind: str, value: str) -> Customer | None:
    """Which customer holds this (already normalised) identity; no context is read."""
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity is not None else None


# The gate's page-by-page shapes: one kind of record, filtered and paginated, for the API ------


class RecordKind(StrEnum):
    """A kind of a customer's records, each read under the partition that holds it."""

    CONVERSATIONS = "conversations"
    MESSAGES = "messages"
    CASES = "cases"
    FACTS = "facts"


@dataclass(frozen=True)
class RecordFilter:
    """What a page of records is narrowed to; each kind uses the filters that apply to it."""

    conversation_id: int | None = None
    channel: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sentiment: str = ""
    status: str = ""
    key: str = ""
    current_only: bool = False


@dataclass(frozen=True)
class RecordPage:
    """One page of a customer's records, JSON-ready, with the total the filters match and the
    customer's business version (so a writer can name the state it read)."""

    records: tuple[dict[str, Any], ...]
    total: int
    business_version: int


@dataclass(frozen=True)
class _RecordShape:
    partition: Partition
    model: Any
    fields: tuple[str, ...]
    redacted: tuple[str, ...]
    ordering: tuple[str, ...]
    time_field: str


_RECORD_SHAPES = {
    RecordKind.CONVERSATIONS: _RecordShape(
        partition=Partition.MESSAGES,
        model=Conversation,
        fields=(
            "id",
            "channel",
            "status",
            "mode",
            "subject",
            "summary",
            "started_at",
            "last_message_at",
            "closed_at",
        ),
        redacted=("subject", "summary"),
        ordering=("-last_message_at", "-pk"),
        time_field="last_message_at",
    ),
    RecordKind.MESSAGES: _RecordShape(
        partition=Partition.MESSAGES,
        model=Message,
        fields=(
            "id",
            "conversation_id",
            "channel",
            "direction",
            "author",
            "text",
            "gist",
            "is_filler",
            "delivery_status",
            "sent_at",
            "sentiment__label",
        ),
        redacted=("text", "gist"),
        ordering=("-sent_at", "-pk"),
        time_field="sent_at",
    ),
    RecordKind.CASES: _RecordShape(
        partition=Partition.BUSINESS,
        model=Case,
        fields=(
            "id",
            "kind",
            "reference",
            "status",
            "title",
            "opened_at",
            "updated_at",
            "closed_at",
            "written_version",
        ),
        redacted=("reference", "title"),
        ordering=("-updated_at", "-pk"),
        time_field="updated_at",
    ),
    RecordKind.FACTS: _RecordShape(
        partition=Partition.BUSINESS,
        model=Fact,
        fields=(
            "id",
            "key",
            "value",
            "case_id",
            "confidence",
            "asserted_by",
            "asserted_by_agent",
            "source_message_id",
            "valid_from",
            "valid_until",
            "replaced_by_id",
            "written_version",
        ),
        redacted=("value",),
        ordering=("key", "-valid_from", "-pk"),
        time_field="valid_from",
    ),
}


def records_read(
    *,
    actor: Actor,
    customer: Customer | int,
    kind: RecordKind,
    purpose: str,
    narrowed: RecordFilter | None = None,
    offset: int = 0,
    limit: int = 50,
    with_pii: bool = False,
    correlation_id: str = "",
) -> RecordPage:
    """A page of one kind of a customer's records, through the gate: the kind's partition (and
    `pii` when asked) is checked, the read audited and watched like `context_read`, and
    contact details masked without `pii`. Three queries besides the gate's, whatever the page.
    """
    if not purpose.strip():
        raise ValueError("a context read needs a purpose")
    shape = _RECORD_SHAPES[RecordKind(kind)]
    asked = frozenset({shape.partition, *([Partition.PII] if with_pii else [])})
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    with _gate(
        actor=actor, customer=customer, asked=asked, purpose=purpose, correlation_id=correlation_id
    ):
        rows = _records_filtered(
            shape.model.objects.filter(customer=customer), shape, narrowed or RecordFilter()
        )
        total = rows.count()
        page = list(rows.order_by(*shape.ordering).values(*shape.fields)[offset : offset + limit])
    redactor = None if with_pii else Redactor()
    records = []
    for row in page:
        if "sentiment__label" in row:
            row["sentiment"] = row.pop("sentiment__label")
        if redactor is not None:
            row.update({name: redactor.text(row[name] or "") for name in shape.redacted})
        records.append(_json_ready(row))
    return RecordPage(
        records=tuple(records), total=total, business_version=customer.business_version
    )


def _records_filtered(rows: Any, shape: _RecordShape, narrowed: RecordFilter) -> Any:
    if narrowed.conversation_id is not None and shape.model is Message:
        rows = rows.filter(conversation_id=narrowed.conversation_id)
    if narrowed.channel and shape.model in (Message, Conversation):
        rows = rows.filter(channel=narrowed.channel)
    if narrowed.since is not None:
        rows = rows.filter(**{f"{shape.time_field}__gte": narrowed.since})
    if narrowed.until is not None:
        rows = rows.filter(**{f"{shape.time_field}__lt": narrowed.until})
    if narrowed.sentiment and shape.model is Message:
        rows = rows.filter(sentiment__label=narrowed.sentiment)
    if narrowed.status and shape.model in (Case, Conversation):
        rows = rows.filter(status=narrowed.status)
    if narrowed.key and shape.model is Fact:
        rows = rows.filter(key=narrowed.key.strip().lower())
    if narrowed.current_only and shape.model is Fact:
        rows = rows.filter(valid_until__isnull=True)
    return rows


# Search: finding customers and what they said, each customer's hits read through the gate -----


@dataclass(frozen=True)
class SearchHit:
    """One thing found: a customer, case, fact, conversation or message, with a short snippet."""

    kind: str
    customer_id: int
    object_id: int
    snippet: str
    at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return _json_ready(asdict(self))


_HIT_PARTITIONS = {
    "customer": Partition.PROFILE,
    "case": Partition.BUSINESS,
    "fact": Partition.BUSINESS,
    "conversation": Partition.MESSAGES,
    "message": Partition.MESSAGES,
}


def context_search(
    *,
    actor: Actor,
    query: str,
    purpose: str,
    channel: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    sentiment: str = "",
    limit: int = 10,
    correlation_id: str = "",
) -> tuple[SearchHit, ...]:
    """Find customers, cases, facts, conversations and messages by free text, phone, e-mail
    or case reference, among only the kinds the actor's partitions cover.

    The channel, time and sentiment filters narrow conversations and messages (and a
    sentiment filter leaves only messages). Every customer whose records are shown is a read
    through the gate, audited and watched; a refused customer's hits are dropped unseen. One query
    per kind of hit, then one gate per customer shown (at most `limit`).
    """
    query = query.strip()
    if not query:
        return ()
    allowed = {kind for kind, partition in _HIT_PARTITIONS.items() if actor.may_read(partition)}
    if sentiment:
        allowed &= {"message"}
    found: list[SearchHit] = []
    finders = (
        ("customer", _customers_found),
        ("case", _cases_found),
        ("fact", _facts_found),
        ("conversation", _conversations_found),
    )
    for kind, finder in finders:
        if kind in allowed and len(found) < limit:
            found += finder(query, channel=channel, since=since, until=until, limit=limit)
    if "message" in allowed and len(found) < limit:
        found += _messages_found(
            query, channel=channel, since=since, until=until, sentiment=sentiment, limit=limit
        )
    found = list(dict.fromkeys(found))[:limit]
    customers = Customer.objects.in_bulk({hit.customer_id for hit in found})
    with_pii = actor.may_read(Partition.PII)
    redactor = None if with_pii else Redactor()
    shown: list[SearchHit] = []
    for customer_id in dict.fromkeys(hit.customer_id for hit in found):
        hits = [hit for hit in found if hit.customer_id == customer_id]
        asked = {_HIT_PARTITIONS[hit.kind] for hit in hits}
        if with_pii:
            asked.add(Partition.PII)
        try:
            with _gate(
                actor=actor,
                customer=customers[customer_id],
                asked=frozenset(asked),
                purpose=purpose,
                correlation_id=correlation_id,
            ):
                pass
        except ContextAccessRefused:
            continue
        shown += [
            hit if redactor is None else replace(hit, snippet=redactor.text(hit.snippet))
            for hit in hits
        ]
    return tuple(shown)


def _snippet(text: str, query: str, width: int = 120) -> str:
    flat = " ".join(text.split())
    at = max(0, flat.casefold().find(query.casefold()))
    start = max(0, at - width // 3)
    cut = flat[start : start + width]
    return ("..." if start else "") + cut + ("..." if start + width < len(flat) else "")


def _customers_found(query: str, *, limit: int, **_: object) -> list[SearchHit]:
    from memory.identities import normalize_identity

    matches = Q(display_name__icontains=query) | Q(external_id=query)
    for kind in (Identity.Kind.PHONE, Identity.Kind.EMAIL):
        try:
            value = normalize_identity(kind, query)
        except ValueError:
            continue
        matches |= Q(identities__kind=kind, identities__value=value)
    rows = (
        Customer.objects.filter(matches, merged_into__isnull=True)
        .distinct()
        .order_by("-updated_at")
        .values("pk", "display_name", "updated_at")[:limit]
    )
    return [
        SearchHit(
            kind="customer",
            customer_id=row["pk"],
            object_id=row["pk"],
            snippet=row["display_name"] or f"Customer #{row['pk']}",
            at=row["updated_at"],
        )
        for row in rows
    ]


def _cases_found(query: str, *, limit: int, **_: object) -> list[SearchHit]:
    from memory.services import reference_key

    matches = Q(title__icontains=query)
    key = reference_key(query)
    if len(key) >= 3:
        matches |= Q(reference_key=key)
    rows = (
        Case.objects.filter(matches)
        .order_by("-updated_at")
        .values("pk", "customer_id", "kind", "reference", "status", "title", "updated_at")[:limit]
    )
    return [
        SearchHit(
            kind="case",
            customer_id=row["customer_id"],
            object_id=row["pk"],
            snippet=f"{row['kind']} {row['reference']} ({row['status']}) {row['title']}".strip(),
            at=row["updated_at"],
        )
        for row in rows
    ]


def _facts_found(query: str, *, limit: int, **_: object) -> list[SearchHit]:
    rows = (
        Fact.objects.filter(
            Q(value__icontains=query) | Q(key__icontains=query), valid_until__isnull=True
        )
        .order_by("-valid_from")
        .values("pk", "customer_id", "key", "value", "valid_from")[:limit]
    )
    return [
        SearchHit(
            kind="fact",
            customer_id=row["customer_id"],
            object_id=row["pk"],
            snippet=f"{row['key']}: {_snippet(row['value'], query)}",
            at=row["valid_from"],
        )
        for row in rows
    ]


def _conversations_found(
    query: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> list[SearchHit]:
    rows = Conversation.objects.filter(Q(subject__icontains=query) | Q(summary__icontains=query))
    rows = _in_window(rows, "last_message_at", channel=channel, since=since, until=until)
    return [
        SearchHit(
            kind="conversation",
            customer_id=row["customer_id"],
            object_id=row["pk"],
            snippet=_snippet(row["subject"] + " " + row["summary"], query),
            at=row["last_message_at"],
        )
        for row in rows.order_by("-last_message_at").values(
            "pk", "customer_id", "subject", "summary", "last_message_at"
        )[:limit]
    ]


def _messages_found(
    query: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    sentiment: str,
    limit: int,
) -> list[SearchHit]:
    rows = Message.objects.filter(text__icontains=query)
    rows = _in_window(rows, "sent_at", channel=channel, since=since, until=until)
    if sentiment:
        rows = rows.filter(sentiment__label=sentiment)
    return [
        SearchHit(
            kind="message",
            customer_id=row["customer_id"],
            object_id=row["pk"],
            snippet=_snippet(row["text"], query),
            at=row["sent_at"],
        )
        for row in rows.order_by("-sent_at", "-pk").values("pk", "customer_id", "text", "sent_at")[
            :limit
        ]
    ]


def _in_window(
    rows: Any,
    time_field: str,
    *,
    channel: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Any:
    if channel:
        rows = rows.filter(channel=channel)
    if since is not None:
        rows = rows.filter(**{f"{time_field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{time_field}__lt": until})
    return rows


__all__ = [
    "ContextAccessRefused",
    "RecordFilter",
    "RecordKind",
    "RecordPage",
    "SearchHit",
    "context_search",
    "records_read",
    "CustomerDossier",
    "context_read",
    "customer_dossier_read",
    "redact_pack",
    "cases_find_by_reference_keys",
    "customer_find_by_identity",
    "emotion_trend",
    "mask_identity",
]
