"""Emotion: one sentiment reading per message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from memory.models import (
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    pass


# Emotion --------------------------------------------------------------------------------------


def sentiment_record(
    *,
    message: Message,
    label: str,
    score: float,
    confidence: float = 1.0,
    model_name: str = "",
) -> SentimentReading:
    """Record (or re-record) how the customer felt in a message."""
    if label not in SentimentReading.Label.values:
        raise ValueError(f"unknown sentiment label {label!r}")
    score = max(-1.0, min(1.0, score))
    with transaction.atomic():
        reading, created = SentimentReading.objects.select_for_update(no_key=True).get_or_create(
            message=message,
            defaults={
                "customer_id": message.customer_id,
                "label": label,
                "score": score,
                "confidence": confidence,
                "model_name": model_name,
                "read_at": message.sent_at,
            },
        )
        if not created and (reading.label, reading.score) != (label, score):
            reading.label, reading.score = label, score
            reading.confidence, reading.model_name = confidence, model_name
            reading.save(update_fields=["label", "score", "confidence", "model_name"])
    return reading
