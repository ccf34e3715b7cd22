"""The intent agent: why the customer is writing, whether they asked for a person, and whether
the model is sure enough to act on it; when it is not, the customer is asked, not told."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, WriteKind
from orchestrator.intelligence.api import OUT_OF_SCOPE, IntentPrediction, classify_intent

if TYPE_CHECKING:
    from memory.context import ContextPack

_ASKS_FOR_A_PERSON = re.compile(
    r"\b(agent|human|representative|real person|operator|"
    r"(speak|talk) (to|with) (someone|somebody|a person|a manager|your manager))\b",
    re.IGNORECASE,
)

# Sure enough to answer as the intent says: above SURE_AT and clearly ahead of the runner-up.
# Intents whose reply says something was done (a cancellation passed on, a refund noted) need
# more: a wrong "I've passed your cancellation request on" costs more than a question.
SURE_AT = 0.55
SURE_FOR_ACTION_AT = 0.7
CLEAR_LEAD = 0.15
ACTION_INTENTS = frozenset(
    {"cancel", "refund", "address_change", "contact_update", "billing_dispute"}
)
# Small talk needs no confirming: a wrong guess costs nothing and the question would be odd.
NEVER_CONFIRMED = frozenset({"greeting", "thanks", "goodbye", "affirm", "deny", OUT_OF_SCOPE})
# Below this, a guess is not worth naming: the customer is asked to say more instead.
GUESS_AT = 0.2
CONFIRM_PREFIX = "confirm:"


def asks_for_a_person(text: str) -> bool:
    """Whether the customer asked, in so many words, to be put through to a human."""
    return bool(_ASKS_FOR_A_PERSON.search(text))


def intent_sureness(prediction: IntentPrediction) -> tuple[bool, str]:
    """(unsure, guess): whether the reading is too weak to act on, and the intent worth
    asking about ("" when there is none: the customer is asked to say more)."""
    ranked = list(prediction.alternatives)
    best, confidence = ranked[0] if ranked else (OUT_OF_SCOPE, 0.0)
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    guess = best if best not in NEVER_CONFIRMED and confidence >= GUESS_AT else ""
    if prediction.out_of_scope:
        return True, guess
    if best in NEVER_CONFIRMED:
        return False, ""
    needed = SURE_FOR_ACTION_AT if best in ACTION_INTENTS else SURE_AT
    unsure = confidence < needed or confidence - runner_up < CLEAR_LEAD
    return unsure, guess if unsure else ""


def clarify_template(intent_found: dict[str, Any]) -> str:
    """The template for asking: "confirm:<intent>" names the likely need, "clarify" asks the
    customer to say more."""
    guess = str(intent_found.get("confirm") or "")
    return f"{CONFIRM_PREFIX}{guess}" if guess else "clarify"


@dataclass(frozen=True)
class IntentAgent:
    name: str = "intent"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.MESSAGES}))
    may_write: frozenset[WriteKind] = frozenset()
    timeout_seconds: float = 2.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        prediction = classify_intent(turn.text)
        unsure, guess = intent_sureness(prediction)
        return AgentOutcome(
            findings={
                "intent": prediction.intent,
                "confidence": prediction.confidence,
                # Unsure counts as not understood: the router asks instead of asserting.
                "out_of_scope": prediction.out_of_scope or unsure,
                "unsure": unsure and not prediction.out_of_scope,
                "confirm": guess,
                "alternatives": [list(pair) for pair in prediction.alternatives],
                "asks_for_person": asks_for_a_person(turn.text),
            }
        )
