"""The stable calls the orchestrator makes: read a message's intent, sentiment and entities.

Models load lazily, once per process, and are trained from the project's own data on first use.
"""

from __future__ import annotations

from orchestrator.intelligence.entities.entity import Entity, EntityKind
from orchestrator.intelligence.entities.extract import extract_entities
from orchestrator.intelligence.intent import OUT_OF_SCOPE, IntentPrediction, intent_predict
from orchestrator.intelligence.sentiment import SentimentPrediction, sentiment_predict
from orchestrator.intelligence.signals import SignalReading, signals_predict
from orchestrator.intelligence.training import model_in_service


def classify_intent(text: str, *, threshold: float | None = None) -> IntentPrediction:
    """The intent of one message, or OUT_OF_SCOPE when the model is not confident enough."""
    return intent_predict(model_in_service("intent").classifier, text, threshold=threshold)


def classify_sentiment(text: str) -> SentimentPrediction:
    """How the customer feels in one message."""
    return sentiment_predict(model_in_service("sentiment").classifier, text)


def read_signals(text: str) -> SignalReading:
    """How much one message reads as the customer leaving, or as ready to buy."""
    return signals_predict(model_in_service("signals").classifier, text)


def signals_model_name() -> str:
    record = model_in_service("signals").record
    return f"signals-v{record.version}"


def intent_model_name() -> str:
    record = model_in_service("intent").record
    return f"intent-v{record.version}"


def sentiment_model_name() -> str:
    record = model_in_service("sentiment").record
    return f"sentiment-v{record.version}"


__all__ = [
    "OUT_OF_SCOPE",
    "Entity",
    "EntityKind",
    "IntentPrediction",
    "SentimentPrediction",
    "SignalReading",
    "classify_intent",
    "classify_sentiment",
    "extract_entities",
    "intent_model_name",
    "read_signals",
    "sentiment_model_name",
    "signals_model_name",
]
