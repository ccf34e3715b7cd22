"""What one message says about the customer's relationship with the business: how much it
reads as leaving (churn) and as ready to buy, from a classifier trained like intent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from memory.models import CustomerSignal
from memory.services.signals import signal_score_with_turn
from orchestrator.intelligence.classifier import TextClassifier, classifier_train
from orchestrator.intelligence.intent import INTENT_RECIPE
from orchestrator.intelligence.training_data.signals import BUYING, CHURN

if TYPE_CHECKING:
    from memory.context import ContextPack

# The intent recipe's features with its calibrated SVM alone: three labels, read on every turn
# beside sentiment, so the small, fast model (one sparse product per message) is the one.
SIGNALS_RECIPE = replace(INTENT_RECIPE, name="signals", model="svm")


@dataclass(frozen=True)
class SignalReading:
    """Probabilities (0 to 1) that the message shows the customer leaving, or buying."""

    churn: float
    buying: float


def signals_predict(classifier: TextClassifier, text: str) -> SignalReading:
    ranked = dict(classifier.ranked(text))
    return SignalReading(
        churn=round(ranked.get(CHURN, 0.0), 4), buying=round(ranked.get(BUYING, 0.0), 4)
    )


def signals_train(
    *,
    texts: Sequence[str],
    labels: Sequence[str],
    embeddings: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> TextClassifier:
    """Train the signals classifier (TF-IDF only: it runs on every turn, beside intent)."""
    return classifier_train(texts=texts, labels=labels, recipe=SIGNALS_RECIPE, progress=progress)


# A business rule's conditions on the signals: {"churn_risk_at_least": 0.7}.
SIGNAL_CONDITIONS = {
    "churn_risk_at_least": CustomerSignal.Kind.CHURN_RISK,
    "buying_intent_at_least": CustomerSignal.Kind.BUYING_INTENT,
}


def signal_conditions_hold(
    conditions: dict[str, Any], *, pack: ContextPack, reading: Callable[[], SignalReading]
) -> bool:
    """Whether the customer's signals, with this message's evidence folded in, reach the
    rule's thresholds. `reading` is called only when a rule names a signal."""
    wanted = {name: conditions[name] for name in SIGNAL_CONDITIONS if name in conditions}
    if not wanted:
        return True
    stored = {signal.kind: signal.score for signal in pack.signals}
    turn = reading()
    this_turn = {
        CustomerSignal.Kind.CHURN_RISK: turn.churn,
        CustomerSignal.Kind.BUYING_INTENT: turn.buying,
    }
    for name, threshold in wanted.items():
        kind = SIGNAL_CONDITIONS[name]
        if signal_score_with_turn(stored.get(kind, 0.0), this_turn[kind]) < float(threshold):
            return False
    return True
