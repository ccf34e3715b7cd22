"""Measuring the intent and sentiment recipes on any labelled CSV, the way they run in
production: trained on the train file, then asked about test messages one at a time.

Each evaluator plugs into `manage.py evaluate <name>` through the `Evaluator` protocol.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from orchestrator.intelligence.classifier import TextClassifier
from orchestrator.intelligence.intent import OUT_OF_SCOPE, intent_predict, intent_train
from orchestrator.intelligence.sentiment import sentiment_predict, sentiment_train

Progress = Callable[[str], None]
FIGURE_KEYS = (
    "accuracy",
    "macro_f1",
    "latency_ms_median",
    "latency_ms_p95",
    "in_scope_accuracy",
    "oos_recall",
    "oos_precision",
)


class EvaluationInputError(ValueError):
    """A CSV that cannot be evaluated: missing file or column, no rows."""


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    """What one evaluation measured; `figures()` is the stable JSON shape."""

    task: str
    recipe: str
    train_rows: int
    test_rows: int
    train_seconds: float
    accuracy: float
    macro_f1: float
    latency_ms_median: float
    latency_ms_p95: float
    in_scope_accuracy: float | None
    oos_recall: float | None
    per_label: tuple[LabelScore, ...]
    oos_precision: float | None = None
    held_out_intents: tuple[str, ...] = ()

    def figures(self) -> dict[str, float | None]:
        return {key: getattr(self, key) for key in FIGURE_KEYS}

    def table(self, *, worst: int = 10) -> str:
        """A plain-text summary: the figures, then the labels the model finds hardest."""
        lines = [
            f"{self.task}: {self.recipe}",
            f"trained on {self.train_rows} rows in {self.train_seconds:.1f} s;"
            f" tested on {self.test_rows} rows, one message at a time",
            "",
            f"{'figure':<20}{'value':>10}",
        ]
        for key, value in self.figures().items():
            shown = "-" if value is None else f"{value:.4f}" if value <= 1 else f"{value:.3f}"
            if key.startswith("latency") and value is not None:
                shown = f"{value:.3f}"
            lines.append(f"{key:<20}{shown:>10}")
        if self.held_out_intents:
            lines += [
                "",
                f"out of scope: {len(self.held_out_intents)} intents never trained on"
                f" ({', '.join(self.held_out_intents)})",
            ]
        hardest = sorted(self.per_label, key=lambda score: (score.f1, score.label))[:worst]
        lines += ["", f"{'hardest labels':<34}{'precision':>10}{'recall':>10}{'f1':>8}{'n':>6}"]
        lines += [
            f"{s.label[:34]:<34}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}{s.support:>6}"
            for s in hardest
        ]
        return "\n".join(lines)


def labelled_rows_read(path: Path, *, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV with a `text` column and the given label column."""
    if not path.is_file():
        raise EvaluationInputError(f"no such file: {path}")
    texts: list[str] = []
    labels: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", label_column} - set(reader.fieldnames or ())
        if missing:
            raise EvaluationInputError(f"{path} has no column(s): {', '.join(sorted(missing))}")
        for row in reader:
            text, label = (row["text"] or "").strip(), (row[label_column] or "").strip()
            if text and label:
                texts.append(text)
                labels.append(label)
    if not texts:
        raise EvaluationInputError(f"{path} has no labelled rows")
    return texts, labels


def _timed_predictions(
    texts: Sequence[str], predict_one: Callable[[str], str], progress: Progress
) -> tuple[list[str], list[float]]:
    predictions, latencies = [], []
    step = max(1, len(texts) // 10)
    for index, text in enumerate(texts, start=1):
        started = time.perf_counter()
        predictions.append(predict_one(text))
        latencies.append((time.perf_counter() - started) * 1000)
        if index % step == 0 or index == len(texts):
            progress(f"  predicted {index}/{len(texts)}")
    return predictions, latencies


def _report(
    *,
    task: str,
    classifier: TextClassifier,
    train_seconds: float,
    truth: Sequence[str],
    predictions: Sequence[str],
    latencies: Sequence[float],
    oos_label: str | None = None,
    held_out_intents: Sequence[str] = (),
) -> EvaluationReport:
    labels = sorted(set(truth) | set(predictions))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predictions, labels=labels, zero_division=0
    )
    in_scope_accuracy = oos_recall = oos_precision = None
    if oos_label is not None:
        in_scope = [(t, p) for t, p in zip(truth, predictions, strict=True) if t != oos_label]
        out_scope = [p for t, p in zip(truth, predictions, strict=True) if t == oos_label]
        flagged = [t for t, p in zip(truth, predictions, strict=True) if p == oos_label]
        if in_scope:
            in_scope_accuracy = round(sum(t == p for t, p in in_scope) / len(in_scope), 4)
        if out_scope:
            oos_recall = round(sum(p == oos_label for p in out_scope) / len(out_scope), 4)
        if flagged:
            oos_precision = round(sum(t == oos_label for t in flagged) / len(flagged), 4)
    ordered = sorted(latencies)
    return EvaluationReport(
        task=task,
        recipe=classifier.recipe.description,
        train_rows=classifier.examples,
        test_rows=len(truth),
        train_seconds=round(train_seconds, 2),
        accuracy=round(float(accuracy_score(truth, predictions)), 4),
        macro_f1=round(float(f1_score(truth, predictions, average="macro", zero_division=0)), 4),
        latency_ms_median=round(statistics.median(ordered), 3),
        latency_ms_p95=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        in_scope_accuracy=in_scope_accuracy,
        oos_recall=oos_recall,
        oos_precision=oos_precision,
        held_out_intents=tuple(held_out_intents),
        per_label=tuple(
            LabelScore(label, float(p), float(r), float(f), int(n))
            for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
        ),
    )


def intent_evaluate(
    *,
    train_csv: Path,
    test_csv: Path,
    label_column: str = "category",
    oos_label: str | None = None,
    holdout_intents: int = 0,
    embeddings: bool | None = None,
    progress: Progress = print,
) -> EvaluationReport:
    """Train the intent recipe on one CSV and measure it on another.

    With `oos_label`, rows of that label are the out-of-scope class in both files, and the
    model's abstentions (confidence under INTENT_CONFIDENCE_THRESHOLD) count as that label.
    With `holdout_intents` N, N intents (spread evenly over the sorted labels) are left out
    of training and their test rows become out of scope: messages about something the model
    has never seen, as real traffic brings. Otherwise every message gets the best label.
    """
    train_texts, train_labels = labelled_rows_read(train_csv, label_column=label_column)
    test_texts, test_labels = labelled_rows_read(test_csv, label_column=label_column)
    progress(f"read {len(train_texts)} training and {len(test_texts)} test rows")
    held_out: list[str] = []
    if holdout_intents > 0:
        oos_label = oos_label or OUT_OF_SCOPE
        held_out = intents_held_out(train_labels, count=holdout_intents)
        kept = [
            (t, lab)
            for t, lab in zip(train_texts, train_labels, strict=True)
            if lab not in held_out
        ]
        train_texts, train_labels = [t for t, _ in kept], [lab for _, lab in kept]
        test_labels = [oos_label if lab in held_out else lab for lab in test_labels]
        progress(f"holding out {len(held_out)} intents as out of scope: {', '.join(held_out)}")
    started = time.perf_counter()
    classifier = intent_train(
        texts=train_texts, labels=train_labels, embeddings=embeddings, progress=progress
    )
    train_seconds = time.perf_counter() - started
    progress(f"trained in {train_seconds:.1f} s; predicting")

    readings: list[tuple[str, float]] = []

    def predict_one(text: str) -> str:
        if oos_label is None:
            return intent_predict(classifier, text, threshold=0.0).intent
        prediction = intent_predict(classifier, text, out_of_scope_label=oos_label)
        best, confidence = prediction.alternatives[0]
        readings.append((best, confidence))
        return oos_label if prediction.out_of_scope else prediction.intent

    predictions, latencies = _timed_predictions(test_texts, predict_one, progress)
    if oos_label is not None:
        for line in oos_by_threshold(test_labels, readings, oos_label=oos_label):
            progress(line)
    return _report(
        task="intent",
        classifier=classifier,
        train_seconds=train_seconds,
        truth=test_labels,
        predictions=predictions,
        latencies=latencies,
        oos_label=oos_label,
        held_out_intents=held_out,
    )


def oos_by_threshold(
    truth: Sequence[str],
    readings: Sequence[tuple[str, float]],
    *,
    oos_label: str,
    thresholds: Sequence[float] = (0.3, 0.45, 0.6, 0.75, 0.9),
) -> list[str]:
    """Out-of-scope recall and precision, and in-scope accuracy, had the confidence threshold
    been each of `thresholds`: the trade-off INTENT_CONFIDENCE_THRESHOLD sets, from one run."""
    lines = [f"{'threshold':>10}{'oos recall':>12}{'oos precision':>15}{'in-scope acc':>14}"]
    for threshold in thresholds:
        flagged = [best == oos_label or conf < threshold for best, conf in readings]
        is_oos = [label == oos_label for label in truth]
        caught = sum(f and o for f, o in zip(flagged, is_oos, strict=True))
        in_scope = [
            (label, best, f)
            for label, (best, _), f in zip(truth, readings, flagged, strict=True)
            if label != oos_label
        ]
        right = sum(not f and best == label for label, best, f in in_scope)
        recall = caught / max(1, sum(is_oos))
        precision = caught / max(1, sum(flagged))
        accuracy = right / max(1, len(in_scope))
        lines.append(f"{threshold:>10.2f}{recall:>12.4f}{precision:>15.4f}{accuracy:>14.4f}")
    return lines


def intents_held_out(labels: Sequence[str], *, count: int) -> list[str]:
    """`count` intents spread evenly over the sorted labels: the same ones on every run."""
    names = sorted(set(labels))
    if not 0 < count < len(names):
        raise EvaluationInputError(f"can hold out 1 to {len(names) - 1} intents, not {count}")
    step = len(names) / count
    return [names[int(i * step)] for i in range(count)]


def sentiment_evaluate(
    *,
    train_csv: Path,
    test_csv: Path,
    label_column: str = "sentiment",
    embeddings: bool | None = None,
    progress: Progress = print,
) -> EvaluationReport:
    """Train the sentiment recipe on one CSV and measure it on another."""
    train_texts, train_labels = labelled_rows_read(train_csv, label_column=label_column)
    test_texts, test_labels = labelled_rows_read(test_csv, label_column=label_column)
    progress(f"read {len(train_texts)} training and {len(test_texts)} test rows")
    started = time.perf_counter()
    classifier = sentiment_train(
        texts=train_texts, labels=train_labels, embeddings=embeddings, progress=progress
    )
    train_seconds = time.perf_counter() - started
    progress(f"trained in {train_seconds:.1f} s; predicting")
    predictions, latencies = _timed_predictions(
        test_texts, lambda text: sentiment_predict(classifier, text).label, progress
    )
    return _report(
        task="sentiment",
        classifier=classifier,
        train_seconds=train_seconds,
        truth=test_labels,
        predictions=predictions,
        latencies=latencies,
    )


class Report(Protocol):
    """What an evaluator hands back: a table to print and figures to save as JSON."""

    def table(self) -> str: ...

    def figures(self) -> dict[str, Any]: ...


class Evaluator(Protocol):
    """One `manage.py evaluate <name>` subcommand: its arguments, and how it runs."""

    @property
    def name(self) -> str: ...

    @property
    def help(self) -> str: ...

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, options: dict[str, Any], progress: Progress) -> Report: ...


def _add_common_arguments(parser: argparse.ArgumentParser, *, label_column: str) -> None:
    parser.add_argument("--train", type=Path, required=True, help="CSV to train on")
    parser.add_argument("--test", type=Path, required=True, help="CSV to measure on")
    parser.add_argument("--label-column", default=label_column, help="the label's column")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add sentence embeddings (needs the extra; default: RAPPORT_EMBEDDINGS)",
    )


class IntentEvaluator:
    name = "intent"
    help = "train the intent recipe on one CSV and measure it on another"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_common_arguments(parser, label_column="category")
        parser.add_argument("--oos-label", help="the label of out-of-scope rows, if any")
        parser.add_argument(
            "--holdout-intents",
            type=int,
            default=0,
            help="leave N intents out of training; their test rows are out of scope",
        )

    def run(self, options: dict[str, Any], progress: Progress) -> EvaluationReport:
        return intent_evaluate(
            train_csv=options["train"],
            test_csv=options["test"],
            label_column=options["label_column"],
            oos_label=options.get("oos_label"),
            holdout_intents=options.get("holdout_intents") or 0,
            embeddings=options.get("embeddings"),
            progress=progress,
        )


class SentimentEvaluator:
    name = "sentiment"
    help = "train the sentiment recipe on one CSV and measure it on another"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_common_arguments(parser, label_column="sentiment")

    def run(self, options: dict[str, Any], progress: Progress) -> EvaluationReport:
        return sentiment_evaluate(
            train_csv=options["train"],
            test_csv=options["test"],
            label_column=options["label_column"],
            embeddings=options.get("embeddings"),
            progress=progress,
        )
