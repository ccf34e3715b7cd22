"""Trained models on disk under RAPPORT_MODEL_DIR: the model file, a JSON record of its version
and held-out score, and a history of every training attempt (promoted or refused).

Each process keeps the loaded model in memory and reloads it when the file changes, so a
retrain in one worker reaches the others without a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
from django.conf import settings

from orchestrator.intelligence.classifier import TextClassifier

MODEL_KINDS = ("intent", "sentiment", "signals")


@dataclass(frozen=True)
class ModelRecord:
    """Which model is in service and how it scored on held-out data when it was promoted."""

    kind: str
    version: int
    recipe: str
    examples: int
    corrections: int
    held_out_examples: int
    held_out_macro_f1: float
    trained_at: str


@dataclass(frozen=True)
class StoredModel:
    classifier: TextClassifier
    record: ModelRecord


def model_dir() -> Path:
    return Path(settings.RAPPORT_MODEL_DIR)


def _model_path(kind: str) -> Path:
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    return model_dir() / f"{kind}.joblib"


def stored_model_load(kind: str) -> StoredModel | None:
    """The model in service for `kind`, or None if none has been trained here yet."""
    path = _model_path(kind)
    if not path.exists():
        return None
    # Our own file, written by stored_model_save below: joblib (pickle) is safe to load here.
    stored = joblib.load(path)
    if not isinstance(stored, StoredModel):
        raise TypeError(f"{path} does not hold a Rapport model")
    return stored


def stored_model_save(stored: StoredModel) -> Path:
    """Put a model into service: written to a temporary file, then renamed over the old one,
    so a process loading at the same moment sees the old model or the new, never half of one.
    """
    path = _model_path(stored.record.kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    os.close(handle)
    joblib.dump(stored, temporary, compress=3)
    Path(temporary).replace(path)
    record_path = path.with_suffix(".json")
    record_path.write_text(json.dumps(asdict(stored.record), indent=2) + "\n")
    return path


def training_history_append(kind: str, entry: dict[str, object]) -> None:
    """One line per training attempt, so refusals are visible as well as promotions."""
    path = model_dir() / f"{kind}-history.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


def training_history_read(kind: str) -> list[dict[str, object]]:
    path = model_dir() / f"{kind}-history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _ProcessCache:
    """The loaded model per kind, keyed by the file's modification time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, tuple[tuple[str, int], StoredModel]] = {}

    def get(self, kind: str) -> StoredModel | None:
        path = _model_path(kind)
        try:
            stamp = (str(path), path.stat().st_mtime_ns)
        except FileNotFoundError:
            return None
        cached = self._models.get(kind)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with self._lock:
            stored = stored_model_load(kind)
            if stored is not None:
                self._models[kind] = (stamp, stored)
            return stored

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


process_cache = _ProcessCache()
