"""Whether a message should bring a person in: the customer asks for one (in any wording, not
a keyword list) or is angry enough that a bot answering would make it worse. A small model
trained from the project's own escalation set at first use, once per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from celery.signals import worker_process_init

from orchestrator.intelligence.classifier import TextClassifier, classifier_train
from orchestrator.intelligence.features import Recipe
from orchestrator.intelligence.store import model_dir
from orchestrator.intelligence.training_data.escalation import (
    ANGRY,
    NEITHER,
    WANTS_PERSON,
    escalation_examples,
)

__all__ = [
    "ANGRY",
    "ESCALATION_RECIPE",
    "NEITHER",
    "WANTS_PERSON",
    "EscalationReading",
    "escalation_model",
    "escalation_read",
    "escalation_train",
]

logger = logging.getLogger(__name__)

# TF-IDF words with negation marks (so "not angry" and "no need for a person" do not read as
# their opposite) and characters (typos, "agnet"), into a calibrated linear SVM: chosen by
# 4-fold cross-validation on the escalation set's own training rows (see bench/handover.py
# for the held-out and public checks); logistic regression and C=0.5/2 were within 0.01.
ESCALATION_RECIPE = Recipe(
    name="escalation",
    model="svm",
    regularisation=1.0,
    word_ngrams=(1, 2),
    char_ngrams=(2, 5),
    negation=True,
)
# A person is brought in when either reason is at least this likely: missing an angry or
# pleading customer costs more than a person glancing at a calm one.
ESCALATE_AT = 0.6


@dataclass(frozen=True)
class EscalationReading:
    """`label` is the likeliest reason (or NEITHER); `score` its probability."""

    label: str
    score: float
    wants_person: float
    angry: float

    @property
    def escalate(self) -> bool:
        return self.label != NEITHER and self.score >= ESCALATE_AT

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": self.score,
            "wants_person": self.wants_person,
            "angry": self.angry,
            "escalate": self.escalate,
        }


def escalation_train(*, texts: Sequence[str], labels: Sequence[str]) -> TextClassifier:
    return classifier_train(texts=texts, labels=labels, recipe=ESCALATION_RECIPE)


_model: TextClassifier | None = None
_training = threading.Lock()


def escalation_model() -> TextClassifier:
    """The model in this process: loaded from the model directory, or trained from the
    project's examples on first use (about half a second) and saved there under a name
    that changes with the examples, so an edited set is never served by an old model."""
    global _model
    if _model is None:
        with _training:
            if _model is None:
                _model = _load_or_train()
    return _model


def _load_or_train() -> TextClassifier:
    examples = escalation_examples()
    digest = hashlib.sha256(repr((ESCALATION_RECIPE, examples)).encode()).hexdigest()[:16]
    path = model_dir() / f"escalation-{digest}.joblib"
    if path.exists():
        # Our own file, written below: joblib (pickle) is safe to load here.
        loaded = joblib.load(path)
        if isinstance(loaded, TextClassifier):
            return loaded
    model = escalation_train(
        texts=[text for text, _ in examples], labels=[label for _, label in examples]
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".escalation-")
        os.close(handle)
        joblib.dump(model, temporary, compress=3)
        Path(temporary).replace(path)
    except OSError:
        logger.warning("could not save the escalation model to %s", path, exc_info=True)
    return model


@worker_process_init.connect
def _warm(**_: Any) -> None:
    """A worker reads messages with a time limit per agent: load the model before the first."""
    escalation_model()


def escalation_read(text: str, *, model: TextClassifier | None = None) -> EscalationReading:
    """Read one message for a reason to bring a person in."""
    ranked = dict((model or escalation_model()).ranked(text))
    wants, angry = ranked.get(WANTS_PERSON, 0.0), ranked.get(ANGRY, 0.0)
    label = max(ranked, key=lambda name: ranked[name])
    return EscalationReading(
        label=label,
        score=round(ranked[label], 4),
        wants_person=round(wants, 4),
        angry=round(angry, 4),
    )
