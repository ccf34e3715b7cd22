"""The recall benchmark: replay customer journeys and score what each memory hands an agent.

Rapport ingests every event through its real webhooks and pipeline and answers probes through
the gate; two retrieval baselines (`rag-global`, `rag-address`) see the same stream. The format
and scoring are ../shared/spec/journeys.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.test import Client, override_settings
from django.test.utils import setup_databases, teardown_databases
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from channels_app.simulator.journeys import Event
from channels_app.simulator.traffic import Answer, Tally, Target, TrafficSender
from config.celery import app as celery_app
from memory.actors import AgentActor, Partition
from memory.models import Message
from memory.selectors import context_read
from memory.services import customer_create
from orchestrator.intelligence.api import classify_sentiment
from orchestrator.intelligence.evaluation import EvaluationInputError

SYSTEM_NAMES = ("rapport", "rag-global", "rag-address")


@dataclass(frozen=True)
class Probe:
    after: int
    needs: tuple[str, ...]
    stale: tuple[str, ...]
    sentiment: str | None


@dataclass(frozen=True)
class Journey:
    journey_id: str
    private: tuple[str, ...]
    profiles: tuple[dict[str, str], ...]
    events: tuple[dict[str, Any], ...]
    probes: tuple[Probe, ...]


@dataclass(frozen=True)
class StreamEvent:
    """One event of the merged stream, with where it came from."""

    journey: Journey
    index: int
    event: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.journey.journey_id}:{self.index}"

    @property
    def text(self) -> str:
        event = self.event
        if event["channel"] == "voice":
            return event.get("speech", "")
        subject = event.get("subject", "")
        body = event.get("body", "")
        return f"{subject}\n{body}" if subject else body


@dataclass(frozen=True)
class ProbeContext:
    """What a system handed an agent at a probe: its rendered text and mood label."""

    text: str
    sentiment: str | None
    elapsed_ms: float


class MemorySystem(Protocol):
    name: str

    def load_profiles(self, journeys: Iterable[Journey]) -> None: ...

    def ingest(self, item: StreamEvent) -> None: ...

    def context(self, item: StreamEvent, *, budget: int) -> ProbeContext: ...


def load_journeys(path: str | Path) -> list[Journey]:
    """Read a journey file (JSON Lines), checking the fields the spec requires."""
    journeys = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        try:
            journeys.append(
                Journey(
                    journey_id=str(raw["id"]),
                    private=tuple(raw.get("private", [])),
                    profiles=tuple(raw.get("profiles") or []),
                    events=tuple(raw["events"]),
                    probes=tuple(
                        Probe(
                            after=int(p["after"]),
                            needs=tuple(p.get("needs", [])),
                            stale=tuple(p.get("stale", [])),
                            sentiment=p.get("sentiment"),
                        )
                        for p in raw.get("probes", [])
                    ),
                )
            )
        except KeyError as missing:
            raise ValueError(f"{path}:{number}: journey lacks field {missing}") from None
    return journeys


def merged_stream(journeys: list[Journey]) -> list[StreamEvent]:
    """All journeys' events as one stream ordered by time; ties keep file order."""
    items = [
        (event["t"], order, StreamEvent(journey=journey, index=index, event=event))
        for order, (journey, index, event) in enumerate(
            (j, i, e) for j in journeys for i, e in enumerate(j.events)
        )
    ]
    return [item for _, _, item in sorted(items, key=lambda entry: (entry[0], entry[1]))]


def fold(text: str) -> str:
    """Case-insensitive, white-space-folded form used for every match."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def contains(haystack_folded: str, needle: str) -> bool:
    return fold(needle) in haystack_folded


@dataclass
class SystemScore:
    """Counts for one system over one file; `figures()` turns them into the reported rates."""

    needs_asked: int = 0
    needs_found: int = 0
    cross_asked: int = 0
    cross_found: int = 0
    stale_listed: int = 0
    stale_shown: int = 0
    leaks: int = 0
    sentiment_asked: int = 0
    sentiment_right: int = 0
    context_ms: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    stale_seen: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, float | int | None]:
        def rate(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        ordered = sorted(self.context_ms)
        p95 = (
            ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else 0
        )
        return {
            "recall": rate(self.needs_found, self.needs_asked),
            "cross_channel_recall": rate(self.cross_found, self.cross_asked),
            "stale_rate": rate(self.stale_shown, self.stale_listed),
            "leaks": self.leaks,
            "sentiment_accuracy": rate(self.sentiment_right, self.sentiment_asked),
            "context_ms_median": round(statistics.median(ordered), 3) if ordered else 0.0,
            "context_ms_p95": round(p95, 3),
            "probes": len(self.context_ms),
            "needs": self.needs_asked,
        }


def source_channels(journey: Journey, need: str, upto: int) -> set[str]:
    """The channels of the events (up to the probe) in which a needed string was stated."""
    return {
        event["channel"]
        for event in journey.events[: upto + 1]
        if contains(fold(StreamEvent(journey, 0, event).text), need)
    }


def score_probe(
    *,
    score: SystemScore,
    journey: Journey,
    probe: Probe,
    context: ProbeContext,
    others_private: list[tuple[str, str]],
) -> None:
    """Add one probe's outcome to a system's counts."""
    folded = fold(context.text)
    probed_channel = journey.events[probe.after]["channel"]
    for need in probe.needs:
        found = contains(folded, need)
        score.needs_asked += 1
        score.needs_found += found
        channels = source_channels(journey, need, probe.after)
        if channels and probed_channel not in channels:
            score.cross_asked += 1
            score.cross_found += found
        if not found:
            score.misses.append(
                {
                    "journey": journey.journey_id,
                    "after": probe.after,
                    "need": need,
                    "context": context.text,
                }
            )
    for stale in probe.stale:
        shown = contains(folded, stale)
        score.stale_listed += 1
        score.stale_shown += shown
        if shown:
            score.stale_seen.append(
                {"journey": journey.journey_id, "after": probe.after, "stale": stale}
            )
    score.leaks += sum(1 for owner, value in others_private if contains(folded, value))
    if probe.sentiment is not None:
        score.sentiment_asked += 1
        score.sentiment_right += context.sentiment == probe.sentiment
    score.context_ms.append(context.elapsed_ms)


def run_benchmark(
    *,
    journeys: list[Journey],
    systems: list[MemorySystem],
    budget: int,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, SystemScore]:
    """Replay the merged stream into every system and score each probe as it comes due."""
    stream = merged_stream(journeys)
    probes_at: dict[str, list[Probe]] = {}
    for journey in journeys:
        for probe in journey.probes:
            probes_at.setdefault(f"{journey.journey_id}:{probe.after}", []).append(probe)
    private_of = [(j.journey_id, value) for j in journeys for value in j.private]
    scores = {system.name: SystemScore() for system in systems}
    for system in systems:
        system.load_profiles(journeys)
    step = max(1, len(stream) // 20)
    for position, item in enumerate(stream, start=1):
        for system in systems:
            system.ingest(item)
        for probe in probes_at.get(item.key, []):
            others = [(owner, v) for owner, v in private_of if owner != item.journey.journey_id]
            own = {fold(v) for v in item.journey.private}
            others = [(owner, v) for owner, v in others if fold(v) not in own]
            for system in systems:
                context = system.context(item, budget=budget)
                score_probe(
                    score=scores[system.name],
                    journey=item.journey,
                    probe=probe,
                    context=context,
                    others_private=others,
                )
        if position % step == 0 or position == len(stream):
            progress(f"  replayed {position}/{len(stream)} events")
    return scores


# Baselines -------------------------------------------------------------------------------------


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


def format_table(scores: dict[str, SystemScore]) -> Iterator[str]:
    """The side-by-side table the command prints."""
    columns = (
        ("recall", "recall"),
        ("cross_channel_recall", "x-channel"),
        ("stale_rate", "stale"),
        ("leaks", "leaks"),
        ("sentiment_accuracy", "sentiment"),
        ("context_ms_median", "ms p50"),
        ("context_ms_p95", "ms p95"),
    )
    yield f"{'system':<12}" + "".join(f"{title:>11}" for _, title in columns)
    for name, score in scores.items():
        figures = score.figures()
        cells = []
        for key, _ in columns:
            value = figures[key]
            cells.append(f"{'-':>11}" if value is None else f"{value:>11}")
        yield f"{name:<12}" + "".join(cells)


# Rapport ---------------------------------------------------------------------------------------


class RapportSystem:
    """Rapport itself: each event goes in as its provider's signed webhook, through the real
    views, services and pipeline; each probe reads context through the gate, audited.
    """

    name = "rapport"

    def __init__(self, *, actor_scopes: frozenset[str] | None = None) -> None:
        self.client = Client()
        self.target = Target(
            url="",
            public_url=BENCHMARK_PUBLIC_URL,
            twilio_token=BENCHMARK_TWILIO_TOKEN,
            account_sid="AC" + "0" * 32,
            email_user=BENCHMARK_EMAIL_USER,
            email_password=BENCHMARK_EMAIL_PASSWORD,
        )
        self.sender = _InProcessSender(self.target, self.client)
        self.message_of: dict[str, int] = {}
        self.actor_scopes = actor_scopes

    def load_profiles(self, journeys: Iterable[Journey]) -> None:
        """Import the journeys' CRM profiles, as a contact center would before traffic starts."""
        for journey in journeys:
            for profile in journey.profiles:
                identities = [
                    (kind, profile[field_name])
                    for kind, field_name in (("phone", "phone"), ("email", "email"))
                    if profile.get(field_name)
                ]
                customer_create(
                    display_name=profile.get("name", ""), identities=identities, source="crm"
                )

    def ingest(self, item: StreamEvent) -> None:
        event = item.event
        before = Message.objects.filter(direction=Message.Direction.INBOUND).order_by("-pk")
        last_pk = before.values_list("pk", flat=True).first() or 0
        self.sender.send(
            Event(
                journey_id=item.journey.journey_id,
                index=item.index,
                at=_parse_time(event["t"]),
                channel=event["channel"],
                sender=event["from"],
                recipient=event["to"],
                body=event.get("body", ""),
                subject=event.get("subject", ""),
                speech=event.get("speech", ""),
            )
        )
        stored = (
            Message.objects.filter(direction=Message.Direction.INBOUND, pk__gt=last_pk)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if stored is None:
            raise RuntimeError(f"event {item.key} was not stored: {self.sender.last_status}")
        self.message_of[item.key] = stored

    def context(self, item: StreamEvent, *, budget: int) -> ProbeContext:
        started = time.perf_counter()
        message = Message.objects.only("customer_id").get(pk=self.message_of[item.key])
        scopes = self.actor_scopes or PROBE_SCOPES
        pack = context_read(
            actor=AgentActor(name=PROBE_AGENT, scopes=Partition.parse(sorted(scopes))),
            customer=message.customer_id,
            partitions=sorted(scopes),
            purpose=f"recall benchmark probe after {item.key}",
            # The probe stands in for the responder answering this message's pipeline run.
            correlation_id=f"message:{self.message_of[item.key]}",
        )
        text = pack.render_text(word_budget=budget)
        elapsed = (time.perf_counter() - started) * 1000
        label = pack.emotion.label if pack.emotion is not None else None
        return ProbeContext(text=text, sentiment=label, elapsed_ms=elapsed)


BENCHMARK_HOST = "recall-benchmark.rapport.invalid"
BENCHMARK_PUBLIC_URL = f"https://{BENCHMARK_HOST}"
BENCHMARK_TWILIO_TOKEN = "recall-benchmark-token"  # noqa: S105 - a scratch database's token
BENCHMARK_EMAIL_USER = "recall"
BENCHMARK_EMAIL_PASSWORD = "recall-benchmark-password"  # noqa: S105
# The probe reads as an agent granted every partition: recall is about what the memory holds,
# and an agent without `pii` would see addresses masked by design (the baselines mask nothing).
PROBE_AGENT = "recall-probe"
PROBE_SCOPES = frozenset({"profile", "business", "messages", "emotion", "pii"})


def benchmark_settings() -> dict[str, Any]:
    """Settings the in-process replay signs and authenticates with; tasks run inline."""
    return {
        "TWILIO_AUTH_TOKEN": BENCHMARK_TWILIO_TOKEN,
        "TWILIO_VALIDATE_SIGNATURES": True,
        "RAPPORT_PUBLIC_URL": BENCHMARK_PUBLIC_URL,
        "EMAIL_INBOUND_USER": BENCHMARK_EMAIL_USER,
        "EMAIL_INBOUND_PASSWORD": BENCHMARK_EMAIL_PASSWORD,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": "",
        "OUTBOUND_SMS_BACKEND": "console",
        "OUTBOUND_EMAIL_BACKEND": "console",
        "CELERY_TASK_ALWAYS_EAGER": True,
        "ALLOWED_HOSTS": ["*"],
    }


def _parse_time(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))


class _InProcessSender(TrafficSender):
    """The simulator's request builder, posting through Django's test client instead of HTTP."""

    def __init__(self, target: Target, client: Client) -> None:
        super().__init__(target, Tally())
        self.client = client
        self.last_status = 0

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        headers = dict(headers)
        content_type = headers.pop("Content-Type")
        response = self.client.generic(
            "POST",
            path,
            data=body,
            content_type=content_type,
            headers=headers,
            secure=True,
            SERVER_NAME=BENCHMARK_HOST,
        )
        self.last_status = response.status_code
        return Answer(status=response.status_code, body=response.content)


# The `evaluate recall` subcommand ------------------------------------------------------------


@dataclass(frozen=True)
class RecallReport:
    """Every system's figures on one journey file, as `evaluate` prints and saves them."""

    scores: dict[str, SystemScore]
    journeys: int
    events: int
    budget: int

    def figures(self) -> dict[str, Any]:
        return {"systems": {name: score.figures() for name, score in self.scores.items()}}

    def table(self) -> str:
        lines = [
            f"recall benchmark: {self.journeys} journeys, {self.events} events,"
            f" budget {self.budget} words",
            "",
            *format_table(self.scores),
        ]
        misses = self.scores["rapport"].misses if "rapport" in self.scores else []
        if misses:
            lines += ["", f"rapport missed {len(misses)} needs, first ones:"]
            lines += [f"  {m['journey']} after {m['after']}: {m['need']!r}" for m in misses[:12]]
        return "\n".join(lines)


class RecallEvaluator:
    """`evaluate recall`: Rapport and two retrieval baselines on the same journey file."""

    name = "recall"
    help = "Score Rapport's memory against retrieval baselines on a customer-journey file."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--journeys", type=Path, required=True, help="journey file (JSONL)")
        parser.add_argument("--budget", type=int, default=150, help="context word budget")
        parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
        parser.add_argument(
            "--current-database",
            action="store_true",
            help="replay into the configured database instead of a scratch one (tests use it)",
        )

    def run(self, options: dict[str, Any], progress: Callable[[str], None]) -> RecallReport:
        path = Path(options["journeys"])
        if not path.exists():
            raise EvaluationInputError(f"no journey file at {path}")
        journeys = load_journeys(path)
        progress(f"replaying {len(journeys)} journeys from {path}")
        if options.get("current_database"):
            return self._replay(journeys, options["budget"], progress)
        progress("creating a scratch database")
        old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            return self._replay(journeys, options["budget"], progress)
        finally:
            teardown_databases(old_config, verbosity=0)

    def _replay(
        self, journeys: list[Journey], budget: int, progress: Callable[[str], None]
    ) -> RecallReport:
        eager_before = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        # Per-message INFO lines from tasks and outbound sending would bury the progress.
        logging.disable(logging.INFO)
        try:
            with override_settings(**benchmark_settings()):
                systems: list[MemorySystem] = [
                    RapportSystem(),
                    RetrievalBaseline("rag-global", same_address_only=False, sentiment=_mood),
                    RetrievalBaseline("rag-address", same_address_only=True, sentiment=_mood),
                ]
                scores = run_benchmark(
                    journeys=journeys, systems=systems, budget=budget, progress=progress
                )
        finally:
            celery_app.conf.task_always_eager = eager_before
            logging.disable(logging.NOTSET)
        return RecallReport(
            scores=scores,
            journeys=len(journeys),
            events=sum(len(j.events) for j in journeys),
            budget=budget,
        )


def _mood(text: str) -> str:
    """The baselines' mood label: Rapport's own sentiment model on the newest message."""
    return classify_sentiment(text).label
