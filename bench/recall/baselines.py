"""The retrieval baselines Rapport is scored against: top-k similar past messages, either
from every customer (`rag-global`) or from the same address only (`rag-address`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from bench.recall.runner import Journey, ProbeContext, StreamEvent


@dataclass
class _PastMessage:
    address: str
    text: str
    key: str


class RetrievalBaseline:
    """Top-k past messages by TF-IDF similarity to the new message, cut to the word budget.

    `rag-global` searches every customer's messages; `rag-address` only those sent from the
    same phone number or e-mail address as the new message.
    """

    def __init__(
        self,
        name: str,
        *,
        same_address_only: bool,
        top_k: int = 8,
        sentiment: Callable[[str], str] | None = None,
    ) -> None:
        self.name = name
        self.same_address_only = same_address_only
        self.top_k = top_k
        self.sentiment = sentiment
        self.past: list[_PastMessage] = []

    def load_profiles(self, journeys: Iterable[Journey]) -> None:
        """Retrieval baselines know nothing beyond the messages they are given."""

    def ingest(self, item: StreamEvent) -> None:
        self.past.append(_PastMessage(address=item.event["from"], text=item.text, key=item.key))

    def context(self, item: StreamEvent, *, budget: int) -> ProbeContext:
        started = time.perf_counter()
        pool = [
            m for m in self.past if not self.same_address_only or m.address == item.event["from"]
        ]
        texts = [m.text for m in pool]
        vectors = TfidfVectorizer(sublinear_tf=True).fit_transform([item.text, *texts])
        similarity = linear_kernel(vectors[0:1], vectors[1:]).ravel()
        ranked = sorted(range(len(pool)), key=lambda i: -similarity[i])[: self.top_k]
        words: list[str] = []
        for index in ranked:
            words.extend(pool[index].text.split())
            if len(words) >= budget:
                break
        text = " ".join(words[:budget])
        label = self.sentiment(item.text) if self.sentiment else None
        elapsed = (time.perf_counter() - started) * 1000
        return ProbeContext(text=text, sentiment=label, elapsed_ms=elapsed)
