"""Celery tasks for conversation intelligence: retraining models in the background."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from orchestrator.intelligence.store import MODEL_KINDS
from orchestrator.intelligence.training import model_retrain


@shared_task(
    name="intelligence.models_retrain",
    time_limit=600,
    soft_time_limit=540,
    acks_late=True,
)
def models_retrain(kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """Retrain the given models (default: all); each is promoted only if no worse."""
    return [asdict(model_retrain(kind=kind)) for kind in kinds or MODEL_KINDS]
