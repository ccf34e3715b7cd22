"""Seeding the benchmark's graph: a base set of customers written through Rapport's own
services (identities, conversations, messages with gists and sentiment readings, cases, facts
with history, ACCESS entries from gate reads), then copied in SQL until the graph holds the
asked number of customers.

The copies keep the base set's shape (a heavy tail of long histories included) with their own
ids, identities, provider ids and thread keys, so every unique constraint and index holds.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import connection, models
from django.utils import timezone

from bench.perf.progress import ProgressBar
from memory.actors import ALL_PARTITIONS, AgentActor
from memory.models import (
    AuditEntry,
    Case,
    Channel,
    Conversation,
    Customer,
    Fact,
    Identity,
    Message,
    SentimentReading,
)
from memory.selectors import context_read
from memory.services import (
    case_open,
    case_set_status,
    conversation_go_quiet,
    customer_create,
    fact_assert,
    message_record_inbound,
    message_record_outbound,
    message_set_gist,
    sentiment_record,
)

CENTRE_NUMBER = "+12025550100"
CENTRE_EMAIL = "help@bench-centre.example"
SEED_READER = AgentActor(name="responder", scopes=ALL_PARTITIONS)
# One base customer in HEAVY_EVERY has a long history (many conversations and fact versions):
# the tail a gate that grows with history would show in its p95.
HEAVY_EVERY = 20

FIRST_NAMES = (
    "Amara",
    "Bogdan",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Mei",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tess",
)
LAST_NAMES = (
    "Adeyemi",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Gallo",
    "Haddad",
    "Iqbal",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
)
STREETS = ("Harbour Road", "Mill Lane", "Station Street", "Orchard Way", "Kings Avenue")
CONTACT_TIMES = ("mornings", "after 6pm", "weekends only", "lunchtime", "any time")
PLANS = ("Basic", "Plus", "Family", "Business", "Unlimited")

# Inbound turns: (text with {ref}/{street}/{time}/{plan}, gist or "" for filler, sentiment).
OPENERS = (
    (
        "Hi, my order {ref} still hasn't arrived and it's been nine days",
        "order {ref} not arrived after nine days",
        "negative",
    ),
    (
        "Hello, I need to move my appointment {ref} to next week please",
        "wants appointment {ref} moved to next week",
        "neutral",
    ),
    (
        "I'd like to make a claim, reference {ref}, the screen cracked in transit",
        "claim {ref}: screen cracked in transit",
        "negative",
    ),
    ("Can you check the status of {ref}? Thanks", "asks status of {ref}", "neutral"),
    (
        "Your courier left my parcel {ref} in the rain, it's soaked",
        "parcel {ref} left in rain, soaked",
        "negative",
    ),
)
FOLLOW_UPS = (
    (
        "I've moved house, the new address is {number} {street}",
        "new address {number} {street}",
        "neutral",
    ),
    ("Best to reach me {time}", "prefers contact {time}", "neutral"),
    ("Please switch me to the {plan} plan from next month", "switch to {plan} plan", "neutral"),
    ("That's great, thank you so much for sorting it", "thanked us for sorting it", "positive"),
    (
        "This is the third time I'm asking, I'm really fed up",
        "third time asking, fed up",
        "negative",
    ),
    ("Any update on {ref}?", "chasing update on {ref}", "neutral"),
)
FILLERS = (("ok", "neutral"), ("thanks", "positive"), ("👍", "positive"))
REPLIES = (
    "Thanks for getting in touch, I'm looking into {ref} now.",
    "I've updated your details, is there anything else?",
    "Sorry about that. I've raised it with the team and will update you today.",
    "All done. You'll get a confirmation shortly.",
)
SENTIMENT_SCORES = {"negative": -0.7, "neutral": 0.0, "positive": 0.6}


@dataclass
class SeedSize:
    """What the seeded graph holds: the customers asked for and how many rows of each kind."""

    customers: int
    base_customers: int
    copies: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    base_seconds: float = 0.0
    copy_seconds: float = 0.0


def base_set_seed(
    *, customers: int, seed: int, stream: TextIO, messages_scale: float = 1.0
) -> list[int]:
    """Write `customers` customers and their histories through the services; their ids."""
    bar = ProgressBar("base set (services)", customers, stream)
    ids = []
    now = timezone.now()
    for index in range(customers):
        ids.append(_customer_seed(index=index, seed=seed, now=now, messages_scale=messages_scale))
        bar.advance()
    bar.finish()
    return ids


def _customer_seed(*, index: int, seed: int, now: dt.datetime, messages_scale: float) -> int:
    rng = random.Random(seed * 1_000_003 + index)  # noqa: S311 - synthetic data, not secrets
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    phone = f"+1202555{index:04d}"
    email = f"{first}.{last}{index}@mail.example".lower()
    customer = customer_create(
        display_name=f"{first} {last}",
        external_id=f"CRM-{100000 + index}",
        identities=[("phone", phone), ("email", email)],
        source="crm",
    )
    heavy = index % HEAVY_EVERY == 0
    episodes = max(1, round((12 if heavy else rng.randint(2, 4)) * messages_scale))
    at = now - dt.timedelta(days=rng.randint(60, 240))
    cases: list[Case] = []
    for episode in range(episodes):
        at += dt.timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 600))
        channel = Channel.SMS if rng.random() < 0.7 else Channel.EMAIL
        sender, recipient = (
            (phone, CENTRE_NUMBER) if channel == Channel.SMS else (email, CENTRE_EMAIL)
        )
        if not cases or (episode % 4 == 0 and len(cases) < 3):
            kind, prefix = rng.choice((("order", "ORD"), ("claim", "CLM"), ("appointment", "APT")))
            reference = f"{prefix}-{rng.randint(10000, 99999)}"
            cases.append(
                case_open(
                    customer=customer,
                    kind=kind,
                    reference=reference,
                    title=f"{kind.title()} {reference}",
                    opened_at=at,
                )
            )
        case = cases[-1]
        values = {
            "ref": case.reference,
            "number": rng.randint(1, 240),
            "street": rng.choice(STREETS),
            "time": rng.choice(CONTACT_TIMES),
            "plan": rng.choice(PLANS),
        }
        last_inbound = None
        conversation = None
        turns = [rng.choice(OPENERS)] + [rng.choice(FOLLOW_UPS) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            filler_text, filler_mood = rng.choice(FILLERS)
            turns.append((filler_text, "", filler_mood))
        for text, gist, mood in turns:
            at += dt.timedelta(minutes=rng.randint(1, 30))
            record = message_record_inbound(
                channel=channel,
                sender=sender,
                recipient=recipient,
                text=text.format(**values),
                provider_id=_provider_id(channel),
                subject=f"About {case.reference}" if channel == Channel.EMAIL else "",
                sent_at=at,
            )
            message = record.message
            conversation = message.conversation
            message_set_gist(message=message, gist=gist.format(**values), is_filler=not gist)
            sentiment_record(
                message=message,
                label=mood,
                score=SENTIMENT_SCORES[mood] + rng.uniform(-0.2, 0.2),
                confidence=0.8,
                model_name="bench-seed",
            )
            _facts_from_turn(
                customer=customer, case=case, text=text, values=values, message=message
            )
            at += dt.timedelta(minutes=rng.randint(1, 5))
            message_record_outbound(
                conversation=conversation,
                text=rng.choice(REPLIES).format(**values),
                author=Message.Author.AGENT,
                author_agent="responder",
                delivery_status=Message.DeliveryStatus.DELIVERED,
                sent_at=at,
            )
            last_inbound = message
        if last_inbound is not None:
            context_read(
                actor=SEED_READER,
                customer=customer,
                partitions=ALL_PARTITIONS,
                purpose="reply to inbound message",
                correlation_id=f"message:{last_inbound.pk}",
            )
        if conversation is not None and episode < episodes - 1:
            conversation_go_quiet(
                conversation=conversation,
                status=Conversation.Status.CLOSED,
                summary=f"Customer asked about {case.reference}.",
            )
        if case.is_open and rng.random() < 0.35 and len(cases) > 1:
            case_set_status(case=case, status=Case.Status.RESOLVED, writer="agent:responder")
    return int(customer.pk)


def _facts_from_turn(
    *, customer: Customer, case: Case, text: str, values: dict[str, Any], message: Message
) -> None:
    """What the memory would keep from a turn, as versioned facts (a new value replaces)."""
    statements: list[tuple[str, str, Case | None]] = []
    if "{street}" in text:
        statements.append(("address", f"{values['number']} {values['street']}", None))
    if "{time}" in text:
        statements.append(("contact_time", str(values["time"]), None))
    if "{plan}" in text:
        statements.append(("plan", str(values["plan"]), None))
    if "cracked" in text or "soaked" in text:
        statements.append(("problem", "item damaged in delivery", case))
    for key, value, about in statements:
        fact_assert(
            customer=customer,
            case=about,
            key=key,
            value=value,
            asserted_by=Fact.AssertedBy.AGENT,
            asserted_by_agent="memory",
            confidence=0.9,
            source_message=message,
            valid_from=message.sent_at,
        )


def _provider_id(channel: str) -> str:
    if channel == Channel.SMS:
        return "SM" + uuid.uuid4().hex
    return f"<{uuid.uuid4().hex}@mail.example>"


# Copying in SQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Range:
    low: int
    high: int

    @property
    def span(self) -> int:
        return self.high - self.low + 1


# In foreign-key order: a copy's references point at rows copied before it.
COPIED_MODELS: tuple[type[models.Model], ...] = (
    Customer,
    Identity,
    Conversation,
    Message,
    Case,
    Fact,
    SentimentReading,
)
ALL_COPIED: tuple[type[models.Model], ...] = (*COPIED_MODELS, AuditEntry)
# Unique or identifying text columns, made distinct per copy (`c` is the copy's number).
DISTINCT_COLUMNS: dict[tuple[type[models.Model], str], str] = {
    (Customer, "external_id"): "external_id || '-c' || c",
    (Identity, "value"): (
        "CASE kind WHEN 'phone' THEN '+1' || (3000000000 + {id})::text "
        "ELSE 'customer' || {id} || '@copies.example' END"
    ),
    (Conversation, "thread_key"): "thread_key || '#c' || c",
    (Message, "provider_id"): "provider_id || '#c' || c",
    (Case, "reference"): "reference || '-' || c",
    (Case, "reference_key"): "reference_key || c",
}

# An audit entry's place in the tamper-evident chain, which a copy does not get.
UNCHAINED_NULL = frozenset({"seq", "shard"})
UNCHAINED_BLANK = frozenset({"content_hash", "personal_hash", "prev_hash", "chain_hash"})


class BaseSet:
    """The rows the services wrote, and how to copy them `n` more times in SQL."""

    def __init__(self) -> None:
        self.ranges = {model: _range(model) for model in COPIED_MODELS}
        self.audit_range = _range(AuditEntry)
        self.customers = self.ranges[Customer].span
        self.copies_made = 0

    def copy(self, *, copies: int, stream: TextIO, batch: int = 10) -> None:
        """Add `copies` copies of the base set, `batch` copies per statement per table."""
        bar = ProgressBar("copies (SQL)", copies * self.customers, stream)
        remaining = copies
        while remaining:
            step = min(batch, remaining)
            self._copy_batch(step)
            self.copies_made += step
            remaining -= step
            bar.advance(step * self.customers)
        bar.finish()
        with connection.cursor() as cursor:
            for model in ALL_COPIED:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
                cursor.execute(f"ANALYZE {table}")

    def _copy_batch(self, count: int) -> None:
        with connection.cursor() as cursor:
            starts = {}
            for model in COPIED_MODELS:
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {model._meta.db_table}")  # noqa: S608
                starts[model] = int(cursor.fetchone()[0])

            def mapped(model: type[models.Model], column: str) -> str:
                span = self.ranges[model]
                return f"({column} - {span.low} + 1 + {starts[model]} + j * {span.span})"

            for model in COPIED_MODELS:
                cursor.execute(self._insert_sql(model, mapped, count))
            cursor.execute(self._audit_sql(mapped, count))

    def _insert_sql(
        self,
        model: type[models.Model],
        mapped: Callable[[type[models.Model], str], str],
        count: int,
    ) -> str:
        columns, expressions = [], []
        for model_field in model._meta.concrete_fields:
            columns.append(connection.ops.quote_name(str(model_field.column)))
            expressions.append(self._expression(model, model_field, mapped))
        table = model._meta.db_table
        span = self.ranges[model]
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from _meta
            f"SELECT {', '.join(expressions)} FROM {table} "
            f"CROSS JOIN generate_series(0, {count - 1}) AS j "
            f"CROSS JOIN LATERAL (SELECT {self.copies_made} + j + 1 AS c) AS copy "
            f"WHERE {table}.id BETWEEN {span.low} AND {span.high}"
        )

    def _expression(
        self,
        model: type[models.Model],
        model_field: Any,
        mapped: Callable[[type[models.Model], str], str],
    ) -> str:
        column = f"{model._meta.db_table}.{connection.ops.quote_name(model_field.column)}"
        if model_field.primary_key:
            return mapped(model, column)
        if (model, model_field.name) in DISTINCT_COLUMNS:
            template = DISTINCT_COLUMNS[(model, model_field.name)]
            return template.format(id=mapped(model, f"{model._meta.db_table}.id"))
        target = model_field.related_model if model_field.is_relation else None
        if target in self.ranges:
            return mapped(target, column)
        if isinstance(model_field, models.DateTimeField):
            # Copies spread back in time, so "newest first" has a real order to find.
            return f"{column} - (c % 90) * interval '1 day'"
        return column

    def _audit_sql(self, mapped: Callable[[type[models.Model], str], str], count: int) -> str:
        """Copy the base set's audit entries (changes and reads) onto the copies, so the trail
        is as long as the graph is big.

        Entries are chained (each hashes the one before), which SQL copies cannot honestly
        join: the copies carry no place in the chain (`audit verify` in a benchmark database
        names them), and the gate chains the real ones it writes while it is measured.
        """
        table = AuditEntry._meta.db_table
        from django.contrib.contenttypes.models import ContentType

        cases = " ".join(
            f"WHEN {ContentType.objects.get_for_model(model).pk} THEN {mapped(model, 'object_id')}"
            for model in COPIED_MODELS
        )
        object_id = f"(CASE content_type_id {cases} ELSE object_id END)"
        columns, expressions = [], []
        for model_field in AuditEntry._meta.concrete_fields:
            if model_field.primary_key:
                continue
            name = connection.ops.quote_name(model_field.column)
            columns.append(name)
            if model_field.column in UNCHAINED_NULL:
                expressions.append("NULL")
            elif model_field.column in UNCHAINED_BLANK:
                expressions.append("''")
            elif model_field.column == "object_id":
                expressions.append(object_id)
            elif model_field.column == "object_pk":
                expressions.append(f"coalesce({object_id}::text, object_pk)")
            elif isinstance(model_field, models.DateTimeField):
                expressions.append(f"{name} - (c % 90) * interval '1 day'")
            else:
                expressions.append(name)
        audit = self.audit_range
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from _meta
            f"SELECT {', '.join(expressions)} FROM {table} "
            f"CROSS JOIN generate_series(0, {count - 1}) AS j "
            f"CROSS JOIN LATERAL (SELECT {self.copies_made} + j + 1 AS c) AS copy "
            f"WHERE id BETWEEN {audit.low} AND {audit.high}"
        )


def _range(model: type[models.Model]) -> _Range:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {model._meta.db_table}")  # noqa: S608
        low, high = cursor.fetchone()
    if low is None:
        raise RuntimeError(f"the base set wrote no {model._meta.verbose_name_plural}")
    return _Range(int(low), int(high))


def row_counts() -> dict[str, int]:
    """How many rows each part of the graph holds (planner estimates are not enough here)."""
    counts = {}
    with connection.cursor() as cursor:
        for model in ALL_COPIED:
            cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608
            counts[model._meta.model_name or model.__name__] = int(cursor.fetchone()[0])
    return counts
