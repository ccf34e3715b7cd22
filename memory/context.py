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
    gist: str = ""
    is_filler: bool = False


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
class HandoverView:
    """The channel switch that brought the customer here: where from, what they were in the
    middle of, and (for a reader holding `messages` only) the summary written at switch time."""

    switch_id: int
    from_conversation_id: int
    from_channel: str
    to_conversation_id: int
    to_channel: str
    topic: str
    carried_case_ids: tuple[int, ...]
    was_with_person: bool
    summary: str
    at: dt.datetime


@dataclass(frozen=True)
class SignalView:
    """A signal on the customer (churn risk, buying intent) and the turns that raised it."""

    kind: str
    score: float
    level: str
    evidence_message_ids: tuple[int, ...] = ()
    updated_at: dt.datetime | None = None


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
    # Churn risk and buying intent (business partition), strongest first.
    signals: tuple[SignalView, ...] = ()
    # The partition versions this pack was read at ("business": 7): a writer names them so a
    # change made after the read is caught as a conflict instead of silently overwritten.
    versions: dict[str, int] = field(default_factory=dict)
    # Values the customer has since replaced (an old address): never shown as if still true.
    superseded: tuple[str, ...] = ()
    handover: HandoverView | None = None

    def render_text(self, word_budget: int | None = None) -> str:
        """Render for an agent, most important first, cut to `word_budget` words.

        Who the customer is, their open cases and what is true now lead, then their mood,
        then what they said (its gist, newest first): an agent short of room loses old
        chatter before it loses what is true now. A replaced value is never shown.
        """
        lines: list[str] = []
        if self.profile is not None:
            name = self.profile.display_name or "name not known"
            lines.append(f"Customer: {name}.")
        if self.identities:
            lines.append("Reach: " + "; ".join(f"{i.kind} {i.value}" for i in self.identities))
        issues = {f.case_reference: f.value for f in self.facts if f.key == "issue"}
        for case in self.open_cases:
            issue = issues.get(case.reference, "")
            title = "" if issue or not case.title or case.reference in case.title else case.title
            detail = f": {issue}" if issue else (f" ({title})" if title else "")
            lines.append(f"Open {case.kind} {case.reference}{detail}")
        facts = [f for f in self.facts if f.key != "issue" or f.case_reference is None]
        if facts:
            ordered = sorted(facts, key=_fact_rank)
            lines.append(
                "Known: "
                + "; ".join(
                    (f"{f.case_reference} " if f.case_reference else "")
                    + f"{f.key.replace('_', ' ')} {f.value}"
                    for f in ordered
                )
            )
        if self.handover is not None:
            moved = f"Moved from {self.handover.from_channel}"
            doing = self.handover.topic.replace("_", " ")
            topic = f", in the middle of {doing}" if doing else ""
            lines.append(f"{moved}{topic}.")
            lines += _handover_news(self.handover.summary, has_turns=bool(self.turns))
        if self.emotion is not None:
            lines.append(f"Mood: {self.emotion.label} now, {self.emotion.direction}.")
        strong = [s for s in self.signals if s.level != "low"]
        if strong:
            lines.append(
                "Signals: "
                + "; ".join(f"{s.kind.replace('_', ' ')} {s.level} ({s.score:.2f})" for s in strong)
            )
        said = [t for t in self.turns if t.direction == "inbound" and not t.is_filler]
        if said:
            lines.append("Customer said, newest first:")
            for turn in said:
                # Without a gist the turn had nothing specific: its opening words will do.
                words = _one_line(turn.gist).split()[:40] or _one_line(turn.text).split()[:15]
                if words:
                    lines.append(f"[{turn.sent_at:%m-%d} {turn.channel}] {' '.join(words)}")
        last_reply = next((t for t in self.turns if t.direction == "outbound"), None)
        if last_reply is not None:
            lines.append(f"Last reply ({last_reply.author}): {_one_line(last_reply.text)}")
        text = "\n".join(_mask(line, self.superseded) for line in lines)
        return cut_to_words(text, word_budget) if word_budget else text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the pack (datetimes as ISO 8601)."""
        raw = asdict(self)
        raw["partitions"] = sorted(p.value for p in self.partitions)
        ready: dict[str, Any] = _jsonable(raw)
        return ready


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


# What is true now and changes most often leads the facts; incidental mentions come last.
_FACT_ORDER = (
    "address",
    "unit",
    "appointment",
    "until",
    "plan",
    "number of",
    "member id",
    "chosen vendor",
    "contact time",
    "preferred",
    "issue",
)


def _fact_rank(fact: FactView) -> tuple[int, str]:
    for rank, prefix in enumerate(_FACT_ORDER):
        if fact.key.startswith(prefix):
            return rank, fact.key
    return len(_FACT_ORDER) + fact.key.endswith("mentioned"), fact.key


def _mask(line: str, superseded: tuple[str, ...]) -> str:
    """Replace values the customer has since replaced, so they are not read as current.

    Whole words only ("Rosa" is not masked inside "Rosalind"), and not values under three
    characters, which would blank parts of unrelated figures.
    """
    folded = line.casefold()
    for value in superseded:
        if len(value) >= 3 and value.casefold() in folded:
            pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
            line = re.sub(pattern, "(since replaced)", line, flags=re.IGNORECASE)
            folded = line.casefold()
    return line


# Lines of a stored hand-over summary (orchestrator.handover) that the pack already says in
# its own lines: where the customer came from and the topic ("Moved from ..."), the open
# cases, and what they last said when their turns are in the pack. Under a word budget, the
# same thing said twice pushes out a fact the agent needs.
_HANDOVER_REPEATS = ("Continued from ", "In the middle of:", "Open: ")


def _handover_news(summary: str, *, has_turns: bool) -> list[str]:
    """The hand-over summary's lines that add to the pack, the hand-off cut to its gist."""
    news = []
    for line in (raw.strip() for raw in summary.splitlines()):
        if not line or line.startswith(_HANDOVER_REPEATS):
            continue
        if has_turns and line.startswith("Last said:"):
            continue
        if line.startswith("With people (") and "):" in line:
            handoff = line[len("With people (") :].split(",", 1)[0].split(")", 1)[0]
            line = f"With people ({handoff}): they answer until a person releases the customer."
        news.append(line)
    return news


def superseded_values(replaced: list[str], still_true: set[str]) -> tuple[str, ...]:
    """The replaced values to mask wherever they are quoted, newest first: each one, and each
    part of a replaced list ("March 10th, the 14th") or appointment ("August 13 at 3:00pm",
    first written "3:00pm on August 13") that no current value (casefolded in `still_true`)
    holds."""
    parts = [
        part.strip()
        for value in replaced
        if ", " in value or " at " in value
        for part in re.split(r", | at ", value)
        if not any(part.strip().casefold() in true for true in still_true)
    ]
    return tuple(dict.fromkeys(replaced + parts))


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
