"""The gate: the one way to read a customer's context. Every call leaves an ACCESS entry in
the audit trail, refused or granted, and the access watch judges it."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from auditlog.cid import get_cid
from django.conf import settings
from django.db import connection
from django.utils import timezone
from opentelemetry import trace

from memory.actors import ALL_PARTITIONS, Actor, Partition
from memory.audit import access_record
from memory.audit.writing import access_entry, chained_entries_write
from memory.context import (
    CaseView,
    ContextPack,
    EmotionView,
    FactView,
    HandoverView,
    IdentityView,
    ProfileView,
    SentimentPoint,
    SignalView,
    TurnView,
    superseded_values,
)
from memory.models import (
    AuditEntry,
    Case,
    ChannelSwitch,
    Conversation,
    Customer,
    CustomerSignal,
    Fact,
    Identity,
    Message,
    SentimentReading,
)
from memory.models.signals import signal_level
from memory.redaction import Redactor
from memory.selectors.dossier import CustomerDossier, dossier_build
from memory.selectors.handoffs import handover_view
from memory.watch import (
    WATCHED_PREFIXES,
    quarantine_key,
    scalars_read,
    watch_begin,
    watches_ask,
    watches_judge,
    watches_observe,
)

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
    (pack,) = contexts_read(
        readers=[ContextReader(actor=actor, partitions=partitions, purpose=purpose)],
        customer=customer,
        correlation_id=correlation_id,
        recent_turns=recent_turns,
    )
    if isinstance(pack, ContextAccessRefused):
        raise pack
    return pack


@dataclass(frozen=True)
class ContextReader:
    """One actor's part in a read several make of one customer for the same piece of work:
    what it asks for, and why. `span` is the caller's span its read is traced under."""

    actor: Actor
    partitions: Iterable[Partition | str]
    purpose: str
    span: trace.Span | None = None


def contexts_read(
    *,
    readers: Sequence[ContextReader],
    customer: Customer | int,
    correlation_id: str = "",
    recent_turns: int | None = None,
) -> list[ContextPack | ContextAccessRefused]:
    """`context_read` for several actors reading one customer for the same work (the agents of
    one message): one pack built for all of them, each handed only its own partitions (masked
    without `pii`), each read judged by the watch and recorded in its own ACCESS entry, the
    entries written together. In the readers' order: a pack, or the refusal of that reader.

    What it costs does not grow with the readers, nor with the customer's history: on
    PostgreSQL one statement asks the watch's questions about all of them and reads every
    partition in scope, one Redis round trip judges and counts their reads (agents and
    clients), and one statement writes all their entries.
    """
    asked_by = []
    for reader in readers:
        if not reader.purpose.strip():
            raise ValueError("a context read needs a purpose")
        asked_by.append(Partition.parse([str(p) for p in reader.partitions]))
    customer_id = customer.pk if isinstance(customer, Customer) else int(customer)
    started = time.perf_counter()
    recorded_id = correlation_id or get_cid() or f"read:{uuid.uuid4().hex[:20]}"
    spans = [
        _tracer.start_span(
            "rapport.context_read",
            context=trace.set_span_in_context(reader.span) if reader.span is not None else None,
            attributes={
                "rapport.actor": reader.actor.label,
                "rapport.customer_id": customer_id,
                "rapport.partitions": sorted(p.value for p in asked),
                "rapport.purpose": reader.purpose,
                "rapport.correlation_id": recorded_id,
            },
        )
        for reader, asked in zip(readers, asked_by, strict=True)
    ]
    try:
        # The watch's questions and every partition in scope go to the database together: a
        # read the watch then refuses is never assembled, and nothing of it leaves the gate.
        questions = watches_ask(
            actors=[reader.actor for reader in readers],
            customer_id=customer_id,
            correlation_id=correlation_id,
        )
        out_of_scope = [
            not all(reader.actor.may_read(p) for p in asked)
            for reader, asked in zip(readers, asked_by, strict=True)
        ]
        in_scope = [asked for asked, out in zip(asked_by, out_of_scope, strict=True) if not out]
        answers, rows = _rows_read(
            customer=customer,
            asked=frozenset().union(*in_scope),
            recent_turns=recent_turns or settings.RAPPORT_CONTEXT_RECENT_TURNS,
            watch_columns=questions.columns,
        )
        customer = rows.customer
        watches = watches_judge(
            questions=questions,
            answers=answers,
            customer_id=customer_id,
            correlation_id=correlation_id,
            started=started,
            refused=out_of_scope,
        )
        refusals: list[ContextAccessRefused | None] = []
        for reader, asked, watch in zip(readers, asked_by, watches, strict=True):
            refused = frozenset(p for p in asked if not reader.actor.may_read(p))
            reason = watch.refusal if watch is not None else None
            refusals.append(
                ContextAccessRefused(reader.actor, refused or asked, reason or "")
                if refused or reason
                else None
            )
        granted = [asked for asked, refusal in zip(asked_by, refusals, strict=True) if not refusal]
        whole = (
            _assemble(
                rows=rows,
                asked=frozenset().union(*granted),
                actor=readers[0].actor,
                purpose=readers[0].purpose,
                correlation_id=recorded_id,
            )
            if granted
            else None
        )
        entries = chained_entries_write(
            [
                access_entry(
                    actor=reader.actor,
                    customer=customer,
                    partitions=asked,
                    purpose=reader.purpose,
                    outcome=AuditEntry.Outcome.REFUSED if refusal else AuditEntry.Outcome.GRANTED,
                    correlation_id=recorded_id,
                    detail=_refusal_detail(refusal) if refusal else None,
                )
                for reader, asked, refusal in zip(readers, asked_by, refusals, strict=True)
            ]
        )
        quarantined = watches_observe(
            [(watch, entry) for watch, entry in zip(watches, entries, strict=True) if watch]
        )
        quarantined_labels = {q.actor for q in quarantined if q is not None}
        results: list[ContextPack | ContextAccessRefused] = []
        for reader, asked, refusal, entry, span in zip(
            readers, asked_by, refusals, entries, spans, strict=True
        ):
            outcome = AuditEntry.Outcome.REFUSED if refusal else AuditEntry.Outcome.GRANTED
            span.set_attribute("rapport.outcome", outcome.value)
            span.set_attribute("rapport.audit_seq", entry.seq or 0)
            if quarantine_key(reader.actor.label) in quarantined_labels and not refusal:
                span.add_event("rapport.agent_quarantined", {"rapport.actor": reader.actor.label})
            if refusal is not None or whole is None:
                results.append(refusal or ContextAccessRefused(reader.actor, asked))
                continue
            pack = _pack_for(whole, asked=asked, actor=reader.actor, purpose=reader.purpose)
            results.append(pack if Partition.PII in asked else redact_pack(pack))
        return results
    finally:
        for span in spans:
            span.end()


def _refusal_detail(refusal: ContextAccessRefused) -> dict[str, object]:
    detail: dict[str, object] = {"refused": sorted(p.value for p in refusal.refused)}
    if refusal.reason:
        detail["reason"] = refusal.reason
    return detail


def _pack_for(
    whole: ContextPack, *, asked: frozenset[Partition], actor: Actor, purpose: str
) -> ContextPack:
    """One reader's share of a pack read for several: only the partitions it asked for, exactly
    as a read of its own would have them (masking is left to the caller, as for one)."""
    business = Partition.BUSINESS in asked
    handover = whole.handover if asked & {Partition.BUSINESS, Partition.MESSAGES} else None
    if handover is not None and Partition.MESSAGES not in asked:
        handover = replace(handover, summary="")
    return replace(
        whole,
        actor_label=actor.label,
        purpose=purpose,
        partitions=asked,
        profile=whole.profile if Partition.PROFILE in asked else None,
        identities=whole.identities if Partition.IDENTITIES in asked else (),
        open_cases=whole.open_cases if business else (),
        facts=whole.facts if business else (),
        superseded=whole.superseded if business else (),
        turns=whole.turns if Partition.MESSAGES in asked else (),
        emotion=whole.emotion if Partition.EMOTION in asked else None,
        signals=whole.signals if asked & SIGNAL_PARTITIONS else (),
        versions={name: v for name, v in whole.versions.items() if name in asked},
        handover=handover,
    )


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
    with access_gate(
        actor=actor,
        customer=customer,
        asked=ALL_PARTITIONS,
        purpose=purpose,
        correlation_id=correlation_id,
    ):
        return dossier_build(customer)


@dataclass
class _Grant:
    correlation_id: str


@contextmanager
def access_gate(
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
        refused = frozenset(p for p in asked if not actor.may_read(p))
        watch = watch_begin(
            actor=actor,
            customer_id=customer.pk,
            correlation_id=correlation_id,
            started=started,
            refused=bool(refused),
        )
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


def customers_admit(
    *,
    actor: Actor,
    customers: Sequence[tuple[Customer, frozenset[Partition]]],
    purpose: str,
    correlation_id: str = "",
) -> list[ContextAccessRefused | None] | None:
    """Admit or refuse a person's (or Rapport's own) reads of several customers shown at once
    (a search page, a list page), each in its own ACCESS entry, the entries written together:
    three statements for the page instead of two per row. None for an actor under the watch
    on agents and clients, whose reads must each be judged in turn (`access_gate`)."""
    if actor.label.startswith(WATCHED_PREFIXES):
        return None
    recorded_id = correlation_id or get_cid() or f"read:{uuid.uuid4().hex[:20]}"
    refusals: list[ContextAccessRefused | None] = []
    entries = []
    for customer, asked in customers:
        refused = frozenset(p for p in asked if not actor.may_read(p))
        refusal = ContextAccessRefused(actor, refused) if refused else None
        refusals.append(refusal)
        entries.append(
            access_entry(
                actor=actor,
                customer=customer,
                partitions=asked,
                purpose=purpose,
                outcome=AuditEntry.Outcome.REFUSED if refusal else AuditEntry.Outcome.GRANTED,
                correlation_id=recorded_id,
                detail=_refusal_detail(refusal) if refusal else None,
            )
        )
    with _tracer.start_as_current_span(
        "rapport.customers_admit",
        attributes={
            "rapport.actor": actor.label,
            "rapport.purpose": purpose,
            "rapport.correlation_id": recorded_id,
            "rapport.rows": len(entries),
        },
    ):
        chained_entries_write(entries)
    return refusals


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
        handover=replace(pack.handover, summary=redactor.text(pack.handover.summary))
        if pack.handover is not None
        else None,
    )


class _Reading(NamedTuple):
    """One sentiment reading, as the mood is worked out from it."""

    read_at: dt.datetime
    label: str
    score: float
    is_filler: bool = False


@dataclass(frozen=True)
class _Rows:
    """One customer's rows for the partitions a read covers, however they were read: plain
    values in the order the views take them (empty for a partition not read)."""

    customer: Customer
    identities: Sequence[Sequence[Any]] = ()
    cases: Sequence[Sequence[Any]] = ()
    versions: Sequence[_Version] = ()
    signals: Sequence[Sequence[Any]] = ()
    turns: Sequence[Sequence[Any]] = ()
    readings: Sequence[_Reading] = ()
    handover: HandoverView | None = None


_CUSTOMER_FIELDS = ("id", "display_name", "created_at", "profile_version", "business_version")


def _rows_read(
    *,
    customer: Customer | int,
    asked: frozenset[Partition],
    recent_turns: int,
    watch_columns: Sequence[tuple[str, Sequence[Any]]],
) -> tuple[list[Any], _Rows]:
    """The watch's answers and the customer's rows for `asked`: on PostgreSQL one statement
    (one round trip, no ORM on the way), elsewhere a query per partition."""
    if connection.vendor == "postgresql":
        return _rows_read_one_statement(
            customer=customer, asked=asked, recent_turns=recent_turns, watch_columns=watch_columns
        )
    answers = scalars_read(watch_columns) if watch_columns else []
    if not isinstance(customer, Customer):
        customer = Customer.objects.get(pk=customer)
    return answers, _rows_read_orm(customer=customer, asked=asked, recent_turns=recent_turns)


def _rows_read_orm(*, customer: Customer, asked: frozenset[Partition], recent_turns: int) -> _Rows:
    """`_rows_read` by the ORM, a query per partition (SQLite, and the reference the one
    statement is tested against)."""
    identities: list[Any] = []
    cases: list[Any] = []
    versions: list[_Version] = []
    signals: list[Any] = []
    turns: list[Any] = []
    readings: list[_Reading] = []
    handover = None
    if Partition.IDENTITIES in asked:
        identities = list(
            Identity.objects.filter(customer=customer)
            .order_by("kind", "pk")
            .values_list("kind", "value", "verified")
        )
    if Partition.BUSINESS in asked:
        cases = list(
            Case.objects.filter(customer=customer, status__in=Case.OPEN_STATUSES)
            .order_by("-updated_at", "-pk")
            .values_list(*_CASE_COLUMNS)
        )
        versions = [
            _Version(*row)
            for row in Fact.objects.filter(customer=customer)
            .order_by("-valid_from", "-pk")
            .values_list(*_FACT_COLUMNS, "case__reference")
        ]
    if asked & SIGNAL_PARTITIONS:
        signals = list(
            CustomerSignal.objects.filter(customer=customer)
            .order_by("-score", "kind")
            .values_list("kind", "score", "evidence", "updated_at")
        )
    if Partition.MESSAGES in asked:
        turns = list(
            Message.objects.filter(customer=customer)
            .order_by("-sent_at", "-pk")
            .values_list(*_TURN_COLUMNS)[:recent_turns]
        )
    if Partition.EMOTION in asked:
        readings = [
            _Reading(*row)
            for row in SentimentReading.objects.filter(customer=customer)
            .order_by("-read_at", "-pk")
            .values_list("read_at", "label", "score", "message__is_filler")[
                : settings.RAPPORT_EMOTION_WINDOW
            ]
        ]
    if asked & {Partition.BUSINESS, Partition.MESSAGES}:
        handover = handover_view(customer_id=customer.pk, with_words=True)
    return _Rows(
        customer=customer,
        identities=identities,
        cases=cases,
        versions=versions,
        signals=signals,
        turns=turns,
        readings=readings,
        handover=handover,
    )


_CASE_COLUMNS = ("id", "kind", "reference", "status", "title", "opened_at", "updated_at")
_FACT_COLUMNS = (
    "id",
    "key",
    "value",
    "confidence",
    "valid_from",
    "valid_until",
    "asserted_by",
    "source_message_id",
    "case_id",
)
_TURN_COLUMNS = (
    "id",
    "conversation_id",
    "channel",
    "direction",
    "author",
    "text",
    "sent_at",
    "gist",
    "is_filler",
)


@cache
def _one_statement_parts() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each partition's scalar subquery for `_rows_read_one_statement`: a JSON array of its
    rows, in the order and the limits the ORM reads use (table names from the models)."""
    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (
            Customer,
            Identity,
            Case,
            Fact,
            CustomerSignal,
            Message,
            SentimentReading,
            ChannelSwitch,
            Conversation,
        )
    }
    facts = ", ".join(f"f.{column}" for column in _FACT_COLUMNS)
    named = {
        "customer": (
            f"SELECT json_build_array({', '.join(_CUSTOMER_FIELDS)}) "  # noqa: S608 - names from _meta
            f"FROM {table[Customer]} WHERE id = %(customer)s"
        ),
        "identities": (
            "SELECT json_agg(json_build_array(kind, value, verified) ORDER BY kind, id) "  # noqa: S608 - names from _meta
            f"FROM {table[Identity]} WHERE customer_id = %(customer)s"
        ),
        "cases": (
            f"SELECT json_agg(json_build_array({', '.join(_CASE_COLUMNS)}) "  # noqa: S608 - names from _meta
            f"ORDER BY updated_at DESC, id DESC) FROM {table[Case]} "
            "WHERE customer_id = %(customer)s AND status = ANY(%(open_statuses)s)"
        ),
        "versions": (
            f"SELECT json_agg(json_build_array({facts}, c.reference) "  # noqa: S608 - names from _meta
            f"ORDER BY f.valid_from DESC, f.id DESC) FROM {table[Fact]} f "
            f"LEFT JOIN {table[Case]} c ON c.id = f.case_id WHERE f.customer_id = %(customer)s"
        ),
        "signals": (
            "SELECT json_agg(json_build_array(kind, score, evidence, updated_at) "  # noqa: S608 - names from _meta
            f"ORDER BY score DESC, kind) FROM {table[CustomerSignal]} "
            "WHERE customer_id = %(customer)s"
        ),
        "turns": (
            f"SELECT json_agg(json_build_array({', '.join(_TURN_COLUMNS)}) "  # noqa: S608 - names from _meta
            f"ORDER BY sent_at DESC, id DESC) FROM (SELECT {', '.join(_TURN_COLUMNS)} "
            f"FROM {table[Message]} WHERE customer_id = %(customer)s "
            "ORDER BY sent_at DESC, id DESC LIMIT %(turns)s) t"
        ),
        "readings": (
            "SELECT json_agg(json_build_array(read_at, label, score, is_filler) "  # noqa: S608 - names from _meta
            "ORDER BY read_at DESC, id DESC) FROM (SELECT r.id, r.read_at, r.label, r.score, "
            f"m.is_filler FROM {table[SentimentReading]} r JOIN {table[Message]} m "
            "ON m.id = r.message_id WHERE r.customer_id = %(customer)s "
            "ORDER BY r.read_at DESC, r.id DESC LIMIT %(window)s) t"
        ),
        "handover": (
            "SELECT json_build_array(s.id, s.from_conversation_id, f.channel, "  # noqa: S608 - names from _meta
            "s.to_conversation_id, t.channel, s.topic, s.carried_case_ids, f.mode, "
            f"s.handover_summary, s.created_at) FROM {table[ChannelSwitch]} s "
            f"JOIN {table[Conversation]} f ON f.id = s.from_conversation_id "
            f"JOIN {table[Conversation]} t ON t.id = s.to_conversation_id "
            "WHERE s.customer_id = %(customer)s AND s.created_at >= %(switch_since)s "
            "AND t.status = ANY(%(still_open)s) ORDER BY s.created_at DESC, s.id DESC LIMIT 1"
        ),
    }
    # Named placeholders read better above; the statement joins them positionally, after the
    # watch's columns.
    return {
        name: (re.sub(r"%\(\w+\)s", "%s", sql), tuple(re.findall(r"%\((\w+)\)s", sql)))
        for name, sql in named.items()
    }


def _rows_read_one_statement(
    *,
    customer: Customer | int,
    asked: frozenset[Partition],
    recent_turns: int,
    watch_columns: Sequence[tuple[str, Sequence[Any]]],
) -> tuple[list[Any], _Rows]:
    """`_rows_read` on PostgreSQL: the watch's questions, the customer row (unless already
    loaded) and each partition's rows as a JSON array, all in one SELECT of scalar subqueries."""
    parts = _one_statement_parts()
    wanted = ["customer"] if not isinstance(customer, Customer) else []
    if Partition.IDENTITIES in asked:
        wanted.append("identities")
    if Partition.BUSINESS in asked:
        wanted += ["cases", "versions"]
    if asked & SIGNAL_PARTITIONS:
        wanted.append("signals")
    if Partition.MESSAGES in asked:
        wanted.append("turns")
    if Partition.EMOTION in asked:
        wanted.append("readings")
    if asked & {Partition.BUSINESS, Partition.MESSAGES}:
        wanted.append("handover")
    customer_id = customer.pk if isinstance(customer, Customer) else int(customer)
    window = dt.timedelta(hours=settings.ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS)
    named: dict[str, Any] = {
        "customer": customer_id,
        "open_statuses": [str(status) for status in Case.OPEN_STATUSES],
        "turns": recent_turns,
        "window": settings.RAPPORT_EMOTION_WINDOW,
        "switch_since": timezone.now() - window,
        "still_open": [Conversation.Status.ACTIVE.value, Conversation.Status.INACTIVE.value],
    }
    selected: list[str] = []
    params: list[Any] = []
    for sql, column_params in watch_columns:
        selected.append(sql if sql == "NULL" else f"({sql})")
        params += column_params
    for name in wanted:
        sql, keys = parts[name]
        selected.append(f"({sql})")
        params += [named[key] for key in keys]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selected), params)
        row = list(cursor.fetchone())
    answers = row[: len(watch_columns)]
    found = dict(zip(wanted, row[len(watch_columns) :], strict=True))
    if not isinstance(customer, Customer):
        if found["customer"] is None:
            raise Customer.DoesNotExist(f"no customer #{customer_id}")
        loaded = dict(zip(_CUSTOMER_FIELDS, found["customer"], strict=True))
        loaded["created_at"] = _when(loaded["created_at"])
        # `from_db` takes the values in the model's field order.
        fields = [f.attname for f in Customer._meta.concrete_fields if f.attname in loaded]
        customer = Customer.from_db("default", fields, [loaded[name] for name in fields])
    switch = found.get("handover")
    return answers, _Rows(
        customer=customer,
        identities=found.get("identities") or (),
        cases=[
            (pk, kind, ref, status, title, _when(opened), _when(updated))
            for pk, kind, ref, status, title, opened, updated in found.get("cases") or ()
        ],
        versions=[
            _Version(pk, key, value, confidence, _when(valid_from), _when_if(valid_until), *rest)
            for pk, key, value, confidence, valid_from, valid_until, *rest in found.get("versions")
            or ()
        ],
        signals=[
            (kind, score, evidence, _when_if(updated))
            for kind, score, evidence, updated in found.get("signals") or ()
        ],
        turns=[
            (*head, _when(sent_at), gist, is_filler)
            for *head, sent_at, gist, is_filler in found.get("turns") or ()
        ],
        readings=[
            _Reading(_when(read_at), label, score, is_filler)
            for read_at, label, score, is_filler in found.get("readings") or ()
        ],
        handover=HandoverView(
            switch_id=switch[0],
            from_conversation_id=switch[1],
            from_channel=switch[2],
            to_conversation_id=switch[3],
            to_channel=switch[4],
            topic=switch[5],
            carried_case_ids=tuple(int(i) for i in switch[6] or ()),
            was_with_person=switch[7] in Conversation.HUMAN_MODES,
            summary=switch[8],
            at=_when(switch[9]),
        )
        if switch is not None
        else None,
    )


def _when(value: str) -> dt.datetime:
    """A timestamp from PostgreSQL's JSON (ISO 8601, in the connection's UTC)."""
    return dt.datetime.fromisoformat(value)


def _when_if(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def _assemble(
    *,
    rows: _Rows,
    asked: frozenset[Partition],
    actor: Actor,
    purpose: str,
    correlation_id: str,
) -> ContextPack:
    """The pack of `asked` from rows read for (at least) those partitions."""
    customer = rows.customer
    cases: tuple[CaseView, ...] = ()
    facts: tuple[FactView, ...] = ()
    superseded: tuple[str, ...] = ()
    if Partition.BUSINESS in asked:
        cases, facts, superseded = _business(rows.cases, rows.versions)
    emotion = None
    if Partition.EMOTION in asked:
        readings = [r for r in rows.readings if not (r.is_filler and r.label == _NEUTRAL)]
        emotion = _emotion_of(readings) if readings else None
    handover = None
    if asked & {Partition.BUSINESS, Partition.MESSAGES} and rows.handover is not None:
        handover = rows.handover
        if Partition.MESSAGES not in asked:
            # The summary quotes the customer: only for a reader holding `messages`.
            handover = replace(handover, summary="")
    return ContextPack(
        customer_id=customer.pk,
        actor_label=actor.label,
        purpose=purpose,
        partitions=asked,
        read_at=timezone.now(),
        correlation_id=correlation_id,
        profile=ProfileView(
            customer_id=customer.pk,
            display_name=customer.display_name,
            customer_since=customer.created_at,
        )
        if Partition.PROFILE in asked
        else None,
        identities=tuple(
            IdentityView(kind=kind, value=value, verified=verified)
            for kind, value, verified in rows.identities
        )
        if Partition.IDENTITIES in asked
        else (),
        open_cases=cases,
        facts=facts,
        turns=tuple(TurnView(*row) for row in rows.turns) if Partition.MESSAGES in asked else (),
        emotion=emotion,
        signals=tuple(_signal_view(*row) for row in rows.signals)
        if asked & SIGNAL_PARTITIONS
        else (),
        versions=_versions(customer, asked),
        superseded=superseded,
        handover=handover,
    )


_NEUTRAL = SentimentReading.Label.NEUTRAL.value


def _signal_view(
    kind: str, score: float, evidence: list[dict[str, Any]], updated_at: dt.datetime | None
) -> SignalView:
    return SignalView(
        kind=kind,
        score=score,
        level=signal_level(score),
        evidence_message_ids=tuple(
            int(item["message_id"]) for item in evidence or () if "message_id" in item
        ),
        updated_at=updated_at,
    )


def _versions(customer: Customer, asked: frozenset[Partition]) -> dict[str, int]:
    """The versions of the versioned partitions read, from the customer row already loaded."""
    versions = {
        Partition.PROFILE.value: customer.profile_version,
        Partition.BUSINESS.value: customer.business_version,
    }
    return {name: version for name, version in versions.items() if name in asked}


_PREFERENCE_KEYS = ("preferred", "avoid")


class _Version(NamedTuple):
    """One version of a fact, as `_business` reads it."""

    pk: int
    key: str
    value: str
    confidence: float
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    asserted_by: str
    source_message_id: int | None
    case_id: int | None
    case_reference: str | None


def _business(
    case_rows: Sequence[Sequence[Any]], versions: Sequence[_Version]
) -> tuple[tuple[CaseView, ...], tuple[FactView, ...], tuple[str, ...]]:
    """Open cases, current facts (the customer's own and their open cases'), and the values
    since replaced, from the open cases' rows and every version of every fact, newest first.
    Plain rows, not model instances: most of a long history is replaced versions, of which
    only the key and the value are wanted.
    """
    cases = tuple(CaseView(*row) for row in case_rows)
    open_case_ids = {case.case_id for case in cases}
    current = [version for version in versions if version.valid_until is None]
    facts = tuple(
        FactView(
            fact_id=fact.pk,
            key=fact.key,
            value=fact.value,
            confidence=fact.confidence,
            valid_from=fact.valid_from,
            asserted_by=fact.asserted_by,
            source_message_id=fact.source_message_id,
            case_reference=fact.case_reference,
        )
        for fact in current
        if fact.case_id is None or fact.case_id in open_case_ids
    )
    still_true = {fact.value.casefold() for fact in current}
    still_true |= {case.reference.casefold() for case in cases}
    # A replaced one-word preference ("email") is a word, not a value: masking it would
    # blank the word wherever it appears. Every other replaced value is masked, and so is
    # each part of a replaced list ("March 10th, the 14th") that no current value holds.
    replaced = [
        value
        for _, key, value, _, _, valid_until, *_ in versions
        if valid_until is not None
        and value.casefold() not in still_true
        and (len(value.split()) > 1 or not key.startswith(_PREFERENCE_KEYS))
    ]
    return cases, facts, superseded_values(replaced, still_true)


# Churn risk and buying intent are read from how the customer writes about the business:
# either partition shows them (the rules read business, the queue emotion).
SIGNAL_PARTITIONS = frozenset({Partition.BUSINESS, Partition.EMOTION})


def customer_signals_view(customer_id: int) -> tuple[SignalView, ...]:
    """The customer's churn-risk and buying-intent signals, strongest first (one query)."""
    return _signals_by_customer([customer_id]).get(customer_id, ())


def _signals_by_customer(customer_ids: list[int]) -> dict[int, tuple[SignalView, ...]]:
    by_customer: dict[int, list[SignalView]] = {}
    for customer_id, *row in (
        CustomerSignal.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-score", "kind")
        .values_list("customer_id", "kind", "score", "evidence", "updated_at")
    ):
        by_customer.setdefault(customer_id, []).append(_signal_view(*row))
    return {customer_id: tuple(views) for customer_id, views in by_customer.items()}


def emotion_trend(customer: Customer) -> EmotionView | None:
    """The customer's mood: how their latest real turn reads, and where it is heading.

    Turns that said nothing and felt nothing ("ok", an auto-reply, a dropped call) are left
    out, so the mood stays what the last real turn made it. The score weighs recent readings
    most (a reading `k` places back counts 0.5 ** (k / half_life)); the direction compares
    the newer half of the window with the older one.
    """
    readings = [
        _Reading(*row)
        for row in SentimentReading.objects.filter(customer=customer)
        .order_by("-read_at", "-pk")
        .values_list("read_at", "label", "score", "message__is_filler")[
            : settings.RAPPORT_EMOTION_WINDOW
        ]
    ]
    readings = [r for r in readings if not (r.is_filler and r.label == _NEUTRAL)]
    return _emotion_of(readings) if readings else None


class _Scored(Protocol):
    """A sentiment reading as the mood arithmetic sees it (a model row or a plain one)."""

    @property
    def read_at(self) -> dt.datetime: ...
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...


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


# One read for a page of conversations --------------------------------------------------------

BATCH_PARTITIONS = frozenset(
    {Partition.PROFILE, Partition.IDENTITIES, Partition.MESSAGES, Partition.EMOTION, Partition.PII}
)


def context_read_conversations(
    *,
    actor: Actor,
    conversation_ids: Iterable[int],
    partitions: Iterable[Partition | str],
    purpose: str,
    correlation_id: str = "",
) -> dict[int, ContextPack]:
    """A glance at many conversations' customers in one gate read, for a list a person works
    from (the console's queue): per conversation, its customer's profile and identities, that
    conversation's own latest turn and latest inbound turn, and the customer's mood.

    One ACCESS entry for the whole page (its customers and conversations listed in the entry),
    and a fixed number of queries however many rows. People only: an agent or a client reads
    one customer at a time, under the access watch. Without `pii` every text is masked.
    """
    from memory.models import Conversation
    from memory.watch import WATCHED_PREFIXES

    if not purpose.strip():
        raise ValueError("a context read needs a purpose")
    asked = Partition.parse([str(p) for p in partitions])
    if asked - BATCH_PARTITIONS:
        raise ValueError("a page read covers profile, identities, messages, emotion and pii")
    wanted = list(dict.fromkeys(int(pk) for pk in conversation_ids))
    if not wanted:
        return {}
    owners = dict(Conversation.objects.filter(pk__in=wanted).values_list("pk", "customer_id"))
    customers = Customer.objects.in_bulk(set(owners.values()))
    recorded_id = correlation_id or get_cid() or f"read:{uuid.uuid4().hex[:20]}"
    detail: dict[str, object] = {
        "customer_ids": sorted(customers),
        "conversation_ids": [pk for pk in wanted if pk in owners],
    }
    with _tracer.start_as_current_span(
        "rapport.context_read_conversations",
        attributes={
            "rapport.actor": actor.label,
            "rapport.partitions": sorted(p.value for p in asked),
            "rapport.purpose": purpose,
            "rapport.rows": len(owners),
        },
    ) as span:
        refused = frozenset(p for p in asked if not actor.may_read(p))
        watched = actor.label.startswith(WATCHED_PREFIXES)
        if refused or watched:
            reason = "a page read is for people" if watched else ""
            _page_access_record(
                actor=actor,
                customers=customers,
                partitions=asked,
                purpose=purpose,
                outcome=AuditEntry.Outcome.REFUSED,
                correlation_id=recorded_id,
                detail={**detail, "refused": sorted(p.value for p in refused or asked)}
                | ({"reason": reason} if reason else {}),
            )
            span.set_attribute("rapport.outcome", AuditEntry.Outcome.REFUSED.value)
            raise ContextAccessRefused(actor, refused or asked, reason)
        packs = _assemble_conversations(
            owners=owners,
            customers=customers,
            asked=asked,
            actor=actor,
            purpose=purpose,
            correlation_id=recorded_id,
        )
        if customers:
            _page_access_record(
                actor=actor,
                customers=customers,
                partitions=asked,
                purpose=purpose,
                outcome=AuditEntry.Outcome.GRANTED,
                correlation_id=recorded_id,
                detail=detail,
            )
        span.set_attribute("rapport.outcome", AuditEntry.Outcome.GRANTED.value)
    if Partition.PII in asked:
        return packs
    return {pk: redact_pack(pack) for pk, pack in packs.items()}


def _page_access_record(
    *,
    actor: Actor,
    customers: dict[int, Customer],
    partitions: frozenset[Partition],
    purpose: str,
    outcome: str,
    correlation_id: str,
    detail: dict[str, object],
) -> AuditEntry:
    """The one ACCESS entry of a page read. It hangs on the person who read (the page is
    theirs); with no person behind the actor, on the page's first customer. The customers
    read are listed in the entry, so a customer's access log can find it."""
    from memory.audit.writing import chained_entry_write

    user = actor.user
    target = user if user is not None and user.pk is not None else next(iter(customers.values()))
    return chained_entry_write(
        target=target,
        action=AuditEntry.Action.ACCESS,
        actor_user=user if user is not None and user.pk is not None else None,
        actor_label=actor.label,
        purpose=purpose,
        partitions=sorted(p.value for p in partitions),
        outcome=outcome,
        correlation_id=correlation_id,
        detail=detail,
    )


def _assemble_conversations(
    *,
    owners: dict[int, int],
    customers: dict[int, Customer],
    asked: frozenset[Partition],
    actor: Actor,
    purpose: str,
    correlation_id: str,
) -> dict[int, ContextPack]:
    """The page's packs: one query per partition, none per row."""
    identities: dict[int, list[IdentityView]] = {}
    if Partition.IDENTITIES in asked:
        for identity in Identity.objects.filter(customer_id__in=customers).order_by(
            "customer_id", "kind", "pk"
        ):
            identities.setdefault(identity.customer_id, []).append(
                IdentityView(kind=identity.kind, value=identity.value, verified=identity.verified)
            )
    turns: dict[int, tuple[TurnView, ...]] = {}
    if Partition.MESSAGES in asked:
        turns = _latest_turns(list(owners))
    moods: dict[int, EmotionView] = {}
    if Partition.EMOTION in asked:
        moods = _emotions(list(customers))
    signals = _signals_by_customer(list(customers)) if asked & SIGNAL_PARTITIONS else {}
    now = timezone.now()
    packs: dict[int, ContextPack] = {}
    for conversation_id, customer_id in owners.items():
        customer = customers[customer_id]
        packs[conversation_id] = ContextPack(
            customer_id=customer_id,
            actor_label=actor.label,
            purpose=purpose,
            partitions=asked,
            read_at=now,
            correlation_id=correlation_id,
            profile=ProfileView(
                customer_id=customer_id,
                display_name=customer.display_name,
                customer_since=customer.created_at,
            )
            if Partition.PROFILE in asked
            else None,
            identities=tuple(identities.get(customer_id, ())),
            turns=turns.get(conversation_id, ()),
            emotion=moods.get(customer_id),
            signals=signals.get(customer_id, ()),
            versions=_versions(customer, asked),
        )
    return packs


def _latest_turns(conversation_ids: list[int]) -> dict[int, tuple[TurnView, ...]]:
    """Each conversation's own latest turn and latest inbound turn (one turn when they are the
    same), newest first: two queries, each an index lookup per conversation."""
    from django.db.models import OuterRef, Subquery

    from memory.models import Conversation

    newest = Message.objects.filter(conversation=OuterRef("pk")).order_by("-sent_at", "-pk")
    pairs = Conversation.objects.filter(pk__in=conversation_ids).values_list(
        "pk",
        Subquery(newest.values("pk")[:1]),
        Subquery(newest.filter(direction=Message.Direction.INBOUND).values("pk")[:1]),
    )
    wanted = {pk: (last, said) for pk, last, said in pairs}
    message_ids = {m for pair in wanted.values() for m in pair if m is not None}
    fields = ("pk", "conversation_id", "channel", "direction", "author", "text", "sent_at")
    rows = Message.objects.only(*fields, "gist", "is_filler").in_bulk(message_ids)
    views = {
        pk: TurnView(
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
        for pk, m in rows.items()
    }
    return {
        conversation_id: tuple(
            views[m] for m in dict.fromkeys((last, said)) if m is not None and m in views
        )
        for conversation_id, (last, said) in wanted.items()
    }


def _emotions(customer_ids: list[int]) -> dict[int, EmotionView]:
    """Each customer's mood as `emotion_trend` reads it, from one windowed query."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    ranked = (
        SentimentReading.objects.filter(customer_id__in=customer_ids)
        .select_related("message")
        .only("customer_id", "read_at", "label", "score", "message__is_filler")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("read_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=settings.RAPPORT_EMOTION_WINDOW)
        .order_by("customer_id", "rank")
    )
    readings: dict[int, list[SentimentReading]] = {}
    for reading in ranked:
        if not (reading.message.is_filler and reading.label == SentimentReading.Label.NEUTRAL):
            readings.setdefault(reading.customer_id, []).append(reading)
    return {customer_id: _emotion_of(rows) for customer_id, rows in readings.items()}


def _emotion_of(readings: Sequence[_Scored]) -> EmotionView:
    """The mood of readings already read, newest first (see `emotion_trend`): one place for
    the arithmetic, shared by single reads and list pages."""
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
