"""The recall benchmark's runner: read journey files, replay them as one stream into every
memory system, and score what each hands an agent at every probe.

The format and scoring are ../shared/spec/journeys.md; the systems live beside this module
(`rapport`, `baselines`) and `evaluator` wires them to `manage.py evaluate recall`.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
            return str(event.get("speech", ""))
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
    leaks_seen: list[dict[str, Any]] = field(default_factory=list)

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
                {
                    "journey": journey.journey_id,
                    "after": probe.after,
                    "stale": stale,
                    "context": context.text,
                }
            )
    leaked = [(owner, value) for owner, value in others_private if contains(folded, value)]
    score.leaks += len(leaked)
    score.leaks_seen += [
        {
            "journey": journey.journey_id,
            "after": probe.after,
            "owner": owner,
            "value": value,
            "context": context.text,
        }
        for owner, value in leaked
    ]
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
