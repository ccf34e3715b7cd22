"""The gate: the one way to read a customer's context. Every call leaves an ACCESS entry in
the audit trail, refused or granted, and the access watch judges it."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from auditlog.cid import get_cid
from django.conf import settings
from django.utils import timezone
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
    Customer,
    Fact,
    Identity,
    Message,
    SentimentReading,
)
from memory.redaction import Redactor
from memory.selectors.dossier import CustomerDossier, dossier_build
from memory.watch import watch_begin

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
    with access_gate(
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
        watch = watch_begin(
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


def _versions(customer: Customer, asked: frozenset[Partition]) -> dict[str, int]:
    """The versions of the versioned partitions read, from the customer row already loaded."""
    versions = {
        Partition.PROFILE.value: customer.profile_version,
        Partition.BUSINESS.value: customer.business_version,
    }
    return {name: version for name, version in versions.items() if name in asked}


_PREFERENCE_KEYS = ("preferred", "avoid")


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
    # A replaced one-word preference ("email") is a word, not a value: masking it would
    # blank the word wherever it appears. Every other replaced value is masked, and so is
    # each part of a replaced list ("March 10th, the 14th") that no current value holds.
    replaced = [
        fact.value
        for fact in versions
        if fact.valid_until is not None
        and fact.value.casefold() not in still_true
        and (len(fact.value.split()) > 1 or not fact.key.startswith(_PREFERENCE_KEYS))
    ]
    parts = [
        part.strip()
        for value in replaced
        if ", " in value
        for part in value.split(", ")
        if not any(part.strip().casefold() in true for true in still_true)
    ]
    superseded = tuple(dict.fromkeys(replaced + parts))
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
