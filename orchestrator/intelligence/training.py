"""Training Rapport's own models: the default intent and sentiment models at first use, and
retraining with supervisors' corrections, where a new model replaces the one in service only
if it scores no worse on held-out data.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from memory.selectors import intent_corrections_list
from orchestrator.intelligence.classifier import TextClassifier
from orchestrator.intelligence.intent import intent_train
from orchestrator.intelligence.sentiment import sentiment_train
from orchestrator.intelligence.signals import signals_train
from orchestrator.intelligence.store import (
    ModelRecord,
    StoredModel,
    process_cache,
    stored_model_load,
    stored_model_save,
    training_history_append,
)
from orchestrator.intelligence.training_data.intents import intent_examples
from orchestrator.intelligence.training_data.sentiment import sentiment_examples
from orchestrator.intelligence.training_data.signals import signal_examples
from orchestrator.intelligence.values.changes import MODEL_PATH as CHANGES_PATH
from orchestrator.intelligence.values.changes import reset_loaded as changes_reset_loaded
from orchestrator.intelligence.values.tagger import MODEL_PATH, reset_loaded
from orchestrator.intelligence.values.training import change_model_train, tagger_train_and_save

Progress = Callable[[str], None]
Examples = Sequence[tuple[str, str]]
HELD_OUT_SHARE = 5  # one example in five is held out


@dataclass(frozen=True)
class RetrainOutcome:
    kind: str
    promoted: bool
    candidate_macro_f1: float
    incumbent_macro_f1: float | None
    version: int
    corrections: int
    reason: str


def is_held_out(text: str) -> bool:
    """Whether an example is held out: decided by its text alone, so an example is held out
    in every retrain and no model in service has ever trained on the data it is judged by.
    """
    digest = hashlib.sha256(text.strip().casefold().encode()).digest()
    return digest[0] % HELD_OUT_SHARE == 0


def intent_corrections_read() -> list[tuple[str, str]]:
    """Supervisors' corrections as (message text, corrected intent) training examples."""
    return [(text, intent) for text, intent in intent_corrections_list() if text and text.strip()]


def _trainer(kind: str) -> Callable[..., TextClassifier]:
    trainers = {"intent": intent_train, "sentiment": sentiment_train, "signals": signals_train}
    return trainers[kind]


def _base_examples(kind: str) -> list[tuple[str, str]]:
    examples = {
        "intent": intent_examples,
        "sentiment": sentiment_examples,
        "signals": signal_examples,
    }
    return examples[kind]()


def model_retrain(
    *,
    kind: str,
    base_examples: Examples | None = None,
    progress: Progress | None = None,
) -> RetrainOutcome:
    """Train a candidate from the project's examples (plus corrections, for intent) and put it
    into service only if it scores no worse than the current model on the same held-out set.
    """
    say = progress or (lambda line: None)
    base = list(base_examples) if base_examples is not None else _base_examples(kind)
    corrections = intent_corrections_read() if kind == "intent" else []
    # A corrected message outranks any base example with the same text.
    corrected_texts = {text.strip().casefold() for text, _ in corrections}
    examples = [e for e in base if e[0].strip().casefold() not in corrected_texts] + corrections
    training = [e for e in examples if not is_held_out(e[0])]
    held_out = [e for e in examples if is_held_out(e[0])]
    say(
        f"{kind}: {len(examples)} examples ({len(corrections)} corrections);"
        f" training on {len(training)}, holding out {len(held_out)}"
    )
    candidate = _trainer(kind)(
        texts=[text for text, _ in training], labels=[label for _, label in training], progress=say
    )
    held_texts, held_labels = [t for t, _ in held_out], [label for _, label in held_out]
    candidate_score = round(candidate.macro_f1(held_texts, held_labels), 4)
    incumbent = stored_model_load(kind)
    incumbent_score = (
        round(incumbent.classifier.macro_f1(held_texts, held_labels), 4)
        if incumbent is not None
        else None
    )
    say(f"held-out macro-F1: candidate {candidate_score}, in service {incumbent_score}")
    promoted = incumbent_score is None or candidate_score >= incumbent_score
    version = (incumbent.record.version if incumbent is not None else 0) + (1 if promoted else 0)
    if promoted:
        reason = "first model" if incumbent is None else "scores no worse on held-out data"
        record = ModelRecord(
            kind=kind,
            version=version,
            recipe=candidate.recipe.description,
            examples=len(training),
            corrections=len(corrections),
            held_out_examples=len(held_out),
            held_out_macro_f1=candidate_score,
            trained_at=timezone.now().isoformat(),
        )
        stored_model_save(StoredModel(classifier=candidate, record=record))
        process_cache.clear()
    else:
        reason = "refused: scores worse on held-out data than the model in service"
    say(f"{kind}: {reason} (version {version} in service)")
    training_history_append(
        kind,
        {
            "at": timezone.now().isoformat(),
            "promoted": promoted,
            "candidate_macro_f1": candidate_score,
            "incumbent_macro_f1": incumbent_score,
            "version_in_service": version,
            "examples": len(examples),
            "corrections": len(corrections),
        },
    )
    return RetrainOutcome(
        kind=kind,
        promoted=promoted,
        candidate_macro_f1=candidate_score,
        incumbent_macro_f1=incumbent_score,
        version=version,
        corrections=len(corrections),
        reason=reason,
    )


_first_use = threading.Lock()


def model_in_service(kind: str) -> StoredModel:
    """The model in service, trained from the project's own examples on first use."""
    stored = process_cache.get(kind)
    if stored is not None:
        return stored
    with _first_use:
        stored = process_cache.get(kind)
        if stored is None:
            _default_train(kind)
            stored = process_cache.get(kind)
    if stored is None:
        raise RuntimeError(f"could not train or load the {kind} model")
    return stored


def _default_train(kind: str) -> None:
    """First use: the project's own examples only (no database needed), same held-out rule."""
    examples = _base_examples(kind)
    training = [e for e in examples if not is_held_out(e[0])]
    held_out = [e for e in examples if is_held_out(e[0])]
    classifier = _trainer(kind)(
        texts=[text for text, _ in training], labels=[label for _, label in training]
    )
    score = classifier.macro_f1([t for t, _ in held_out], [label for _, label in held_out])
    record = ModelRecord(
        kind=kind,
        version=1,
        recipe=classifier.recipe.description,
        examples=len(training),
        corrections=0,
        held_out_examples=len(held_out),
        held_out_macro_f1=round(score, 4),
        trained_at=timezone.now().isoformat(),
    )
    stored_model_save(StoredModel(classifier=classifier, record=record))
    training_history_append(
        kind,
        {
            "at": record.trained_at,
            "promoted": True,
            "candidate_macro_f1": record.held_out_macro_f1,
            "version_in_service": 1,
            "first_use": True,
        },
    )


def value_tagger_retrain(
    *,
    train: Path,
    dev: Path | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Retrain the value tagger and the change model from SGD turns files and write their
    weights (by default over the files shipped with the code); returns the tagger's
    exact-span scores on `dev`."""
    scores = tagger_train_and_save(train, dev, out=out or MODEL_PATH, progress=progress)
    changes = change_model_train(train, dev=dev, progress=progress)
    changes.save(out.with_name(CHANGES_PATH.name) if out is not None else CHANGES_PATH)
    reset_loaded()
    changes_reset_loaded()
    return scores
