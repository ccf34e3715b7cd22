"""The sentiment agent: how the customer feels in this message, against their mood so far,
and what the message says about the relationship (churn risk, buying intent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from memory.models import CustomerSignal
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.intelligence.api import (
    classify_sentiment,
    read_signals,
    sentiment_model_name,
    signals_model_name,
)

if TYPE_CHECKING:
    from memory.context import ContextPack


@dataclass(frozen=True)
class SentimentAgent:
    name: str = "sentiment"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.EMOTION}))
    may_write: frozenset[WriteKind] = frozenset({WriteKind.SENTIMENT, WriteKind.SIGNAL})
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        reading = classify_sentiment(turn.text)
        model = sentiment_model_name()
        signals = read_signals(turn.text)
        signals_model = signals_model_name()
        prior = pack.emotion
        return AgentOutcome(
            findings={
                "label": reading.label,
                "score": round(reading.score, 3),
                "confidence": round(reading.confidence, 3),
                "model": model,
                "prior_mood": prior.label if prior else None,
                "prior_trend": prior.direction if prior else None,
                "churn": signals.churn,
                "buying": signals.buying,
            },
            writes=(
                ProposedWrite(
                    kind=WriteKind.SENTIMENT,
                    value=reading.label,
                    confidence=reading.confidence,
                    detail={"score": reading.score, "model": model},
                ),
                # Every turn is folded in: evidence raises a signal, an ordinary turn eases it.
                ProposedWrite(
                    kind=WriteKind.SIGNAL,
                    key=CustomerSignal.Kind.CHURN_RISK,
                    confidence=signals.churn,
                    detail={"model": signals_model},
                ),
                ProposedWrite(
                    kind=WriteKind.SIGNAL,
                    key=CustomerSignal.Kind.BUYING_INTENT,
                    confidence=signals.buying,
                    detail={"model": signals_model},
                ),
            ),
        )
