"""The intent agent: why the customer is writing, and whether they asked for a person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, WriteKind
from orchestrator.intelligence.api import classify_intent

if TYPE_CHECKING:
    from memory.context import ContextPack

_ASKS_FOR_A_PERSON = re.compile(
    r"\b(agent|human|representative|real person|operator|"
    r"(speak|talk) (to|with) (someone|somebody|a person|a manager|your manager))\b",
    re.IGNORECASE,
)


def asks_for_a_person(text: str) -> bool:
    """Whether the customer asked, in so many words, to be put through to a human."""
    return bool(_ASKS_FOR_A_PERSON.search(text))


@dataclass(frozen=True)
class IntentAgent:
    name: str = "intent"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.MESSAGES}))
    may_write: frozenset[WriteKind] = frozenset()
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        prediction = classify_intent(turn.text)
        return AgentOutcome(
            findings={
                "intent": prediction.intent,
                "confidence": prediction.confidence,
                "out_of_scope": prediction.out_of_scope,
                "alternatives": [list(pair) for pair in prediction.alternatives],
                "asks_for_person": asks_for_a_person(turn.text),
            }
        )
