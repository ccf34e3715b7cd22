"""The context pack: what the gate hands an actor, and how it reads as text under a budget."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from memory.actors import Partition


@dataclass(frozen=True)
class ProfileView:
    customer_id: int
    display_name: str
    customer_since: dt.datetime


@dataclass(frozen=True)
class IdentityView:
    kind: str
    value: str
    verified: bool


@dataclass(frozen=True)
class FactView:
    fact_id: int
    key: str
    value: str
    confidence: float
    valid_from: dt.datetime
    asserted_by: str
    source_message_id: int | None
    case_reference: str | None = None


@dataclass(frozen=True)
class CaseView:
    case_id: int
    kind: str
    reference: str
    status: str
    title: str
    opened_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class TurnView:
    message_id: int
    conversation_id: int
    channel: str
    direction: str
    author: str
    text: str
    sent_at: dt.datetime


@dataclass(frozen=True)
class SentimentPoint:
    at: dt.datetime
    label: str
    score: float


@dataclass(frozen=True)
class EmotionView:
    """The customer's mood now: recent readings weighted towards the newest."""

    label: str
    score: float
    direction: str
    points: tuple[SentimentPoint, ...] = ()


@dataclass(frozen=True)
class ContextPack:
    """One actor's view of one customer, limited to the partitions it was granted."""

    customer_id: int
    actor_label: str
    purpose: str
    partitions: frozenset[Partition]
    read_at: dt.datetime
    correlation_id: str = ""
    profile: ProfileView | None = None
    identities: tuple[IdentityView, ...] = ()
    open_cases: tuple[CaseView, ...] = ()
    facts: tuple[FactView, ...] = ()
    turns: tuple[TurnView, ...] = field(default=())
    emotion: EmotionView | None = None

    def render_text(self, word_budget: int | None = None) -> str:
        """Render for an agent, most important first, cut to `word_budget` words.

        Open business state and current facts lead, then the mood, then the newest turns:
        an agent short of room loses old chatter before it loses what is true now.
        """
        lines: list[str] = []
        if self.profile is not None:
            name = self.profile.display_name or "unknown name"
            lines.append(f"Customer: {name} (#{self.profile.customer_id}).")
        if self.identities:
            lines.append(
                "Reach: " + "; ".join(f"{i.kind} {i.value}" for i in self.identities) + "."
            )
        if self.open_cases:
            cases = "; ".join(
                f"{c.kind} {c.reference} {c.status}" + (f" ({c.title})" if c.title else "")
                for c in self.open_cases
            )
            lines.append(f"Open cases: {cases}.")
        if self.facts:
            facts = "; ".join(
                (f"{f.case_reference} " if f.case_reference else "")
                + f"{f.key.replace('_', ' ')}: {f.value}"
                for f in self.facts
            )
            lines.append(f"Facts: {facts}.")
        if self.emotion is not None:
            lines.append(
                f"Sentiment: {self.emotion.label}, {self.emotion.direction}"
                f" (score {self.emotion.score:+.2f})."
            )
        if self.turns:
            lines.append("Recent turns, newest first:")
            for turn in self.turns:
                who = "customer" if turn.direction == "inbound" else turn.author
                when = turn.sent_at.strftime("%Y-%m-%d %H:%M")
                lines.append(f"[{when} {turn.channel} {who}] {_one_line(turn.text)}")
        text = "\n".join(lines)
        return cut_to_words(text, word_budget) if word_budget else text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the pack (datetimes as ISO 8601)."""
        raw = asdict(self)
        raw["partitions"] = sorted(p.value for p in self.partitions)
        return _jsonable(raw)


def cut_to_words(text: str, budget: int) -> str:
    """Keep the first `budget` words of `text`, keeping its line breaks."""
    kept: list[str] = []
    remaining = budget
    for line in text.splitlines():
        if remaining <= 0:
            break
        words = line.split()
        kept.append(" ".join(words[:remaining]))
        remaining -= len(words)
    return "\n".join(kept)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
