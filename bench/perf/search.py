"""Search latency at one seeded scale: `context_search` for words taken from the seeded
messages (rare and common ones, and numbers), as a supervisor's console search makes it."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from django.db import connection

from bench.perf.stats import summary
from memory.actors import SystemActor
from memory.models import Message
from memory.selectors import context_search

# Every partition, and not under the watch on agents (which stops a sweep of many customers).
SEARCHER = SystemActor(name="bench-search")


def search_terms(*, count: int, seed: int) -> list[str]:
    """Words of four letters or more (and digit runs) from messages spread over the graph."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {Message._meta.db_table}")  # noqa: S608
        (high,) = cursor.fetchone()
        ids = [rng.randint(1, high or 1) for _ in range(count * 3)]
        cursor.execute(
            f"SELECT text FROM {Message._meta.db_table} WHERE id = ANY(%s)",  # noqa: S608
            [ids],
        )
        texts = [row[0] for row in cursor.fetchall()]
    words = [w for text in texts for w in re.findall(r"[A-Za-z]{4,}|\d{3,}", text)]
    rng.shuffle(words)
    return list(dict.fromkeys(w.lower() for w in words))[:count]


def search_measure(*, samples: int, seed: int) -> dict[str, Any]:
    """Time `context_search` (every kind of hit, ten per page) for `samples` terms."""
    terms = search_terms(count=samples + 5, seed=seed)
    for term in terms[:5]:
        context_search(actor=SEARCHER, query=term, purpose="benchmark search")
    timings: list[float] = []
    hits: list[int] = []
    for term in terms[5:]:
        started = time.perf_counter()
        found = context_search(actor=SEARCHER, query=term, purpose="benchmark search")
        timings.append((time.perf_counter() - started) * 1000)
        hits.append(len(found))
    return {
        "searches": len(timings),
        "vendor": connection.vendor,
        "search": summary(timings),
        "hits_median": sorted(hits)[len(hits) // 2] if hits else 0,
    }
