"""The sentiment agent: how the customer feels in this message, against their mood so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.intelligence.api import classify_sentiment, sentiment_model_name

if TYPE_CHECKING:
    from memory.context import ContextPack


@dataclass(frozen=True)
class SentimentAgent:
    name: str = "sentiment"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.EMOTION}))
    may_write: frozenset[WriteKind] = frozenset({WriteKind.SENTIMENT})
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        reading = classify_sentiment(turn.text)
        model = sentiment_model_name()
        prior = pack.emotion
        return AgentOutcome(
            findings={
                "label": reading.label,
                "score": round(reading.score, 3),
                "confidence": round(reading.confidence, 3),
                "model": model,
                "prior_mood": prior.label if prior else None,
                "prior_trend": prior.direction if prior else None,
            },
            writes=(
                ProposedWrite(
                    kind=WriteKind.SENTIMENT,
                    value=reading.label,
                    confidence=reading.confidence,
                    detail={"score": reading.score, "model": model},
                ),
            ),
        )
