"""Gate latency at one seeded scale: `context_read` of every partition and a 150-word render,
against an indexed retrieval baseline on the same customers in the same run.

The baseline is what a plain retrieval layer does: one indexed SELECT of the customer's newest
messages and current facts, rendered to the same word budget, with no scopes, no redaction and
no audit entry. Its figures make the gate's a ratio as well as milliseconds.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.perf.stats import summary
from memory.actors import ALL_PARTITIONS, AgentActor
from memory.context import cut_to_words
from memory.models import Customer, Fact, Message
from memory.selectors import context_read

GATE_READER = AgentActor(name="responder", scopes=ALL_PARTITIONS)
BASELINE_TURNS = 30

_BASELINE_SQL = f"""
    (SELECT 0 AS part, key || ': ' || value AS line, valid_from AS at
       FROM {Fact._meta.db_table}
      WHERE customer_id = %(customer)s AND valid_until IS NULL)
    UNION ALL
    (SELECT 1, text, sent_at
       FROM {Message._meta.db_table}
      WHERE customer_id = %(customer)s
      ORDER BY sent_at DESC
      LIMIT {BASELINE_TURNS})
    ORDER BY part, at DESC
"""  # noqa: S608 - table names from _meta


@dataclass(frozen=True)
class Sample:
    customer_id: int
    message_id: int


def samples_pick(*, count: int, seed: int) -> list[Sample]:
    """Customers to read, spread over the whole graph, each with its newest inbound message
    (the work a responder reads for: the gate's watch wants a pipeline's message behind a read)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {Customer._meta.db_table}")  # noqa: S608
        low, high = cursor.fetchone()
        rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
        wanted = [rng.randint(low, high) for _ in range(count * 2)]
        cursor.execute(
            f"SELECT customer_id, max(id) FROM {Message._meta.db_table} "  # noqa: S608
            "WHERE customer_id = ANY(%s) AND direction = 'inbound' GROUP BY customer_id",
            [wanted],
        )
        found = dict(cursor.fetchall())
    picked = [Sample(customer_id=c, message_id=found[c]) for c in wanted if c in found]
    return picked[:count]


def gate_read(sample: Sample, *, budget: int) -> str:
    pack = context_read(
        actor=GATE_READER,
        customer=sample.customer_id,
        partitions=ALL_PARTITIONS,
        purpose="reply to inbound message",
        correlation_id=f"message:{sample.message_id}",
    )
    return pack.render_text(word_budget=budget)


def baseline_read(sample: Sample, *, budget: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(_BASELINE_SQL, {"customer": sample.customer_id})
        lines = [line for _, line, _ in cursor.fetchall()]
    return cut_to_words("\n".join(lines), budget)


def gate_measure(*, samples: int, budget: int, seed: int, warmup: int = 10) -> dict[str, Any]:
    """Time the gate and the baseline on the same customers, interleaved so both meet the
    same cache; count the gate's queries per read on a handful of them."""
    picked = samples_pick(count=samples + warmup, seed=seed)
    for sample in picked[:warmup]:
        gate_read(sample, budget=budget)
        baseline_read(sample, budget=budget)
    measured = picked[warmup:]
    gate_ms: list[float] = []
    baseline_ms: list[float] = []
    words: list[int] = []
    for sample in measured:
        started = time.perf_counter()
        text = gate_read(sample, budget=budget)
        gate_ms.append((time.perf_counter() - started) * 1000)
        words.append(len(text.split()))
        started = time.perf_counter()
        baseline_read(sample, budget=budget)
        baseline_ms.append((time.perf_counter() - started) * 1000)
    queries = []
    for sample in measured[:10]:
        with CaptureQueriesContext(connection) as captured:
            gate_read(sample, budget=budget)
        queries.append(len(captured.captured_queries))
    gate = summary(gate_ms)
    baseline = summary(baseline_ms)
    return {
        "reads": len(measured),
        "word_budget": budget,
        "partitions": sorted(p.value for p in ALL_PARTITIONS),
        "gate": gate,
        "baseline": baseline,
        "ratio_p50": _ratio(gate["p50_ms"], baseline["p50_ms"]),
        "ratio_p95": _ratio(gate["p95_ms"], baseline["p95_ms"]),
        "queries_per_read": {
            "median": statistics.median(queries) if queries else 0,
            "max": max(queries, default=0),
        },
        "baseline_queries_per_read": 1,
        "words_rendered_median": statistics.median(words) if words else 0,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None
