"""`manage.py evaluate intent|sentiment` on small labelled CSVs the tests write."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orchestrator.intelligence.evaluation import FIGURE_KEYS
from orchestrator.intelligence.training import is_held_out
from orchestrator.intelligence.training_data.intents import intent_examples
from orchestrator.intelligence.training_data.sentiment import sentiment_examples


def _write(path, rows, label_column):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", label_column])
        writer.writerows((n, text, label) for n, (text, label) in enumerate(rows))
    return path


def _split(examples, tmp_path, label_column):
    train = [e for e in examples if not is_held_out(e[0])]
    test = [e for e in examples if is_held_out(e[0])]
    return (
        _write(tmp_path / "train.csv", train, label_column),
        _write(tmp_path / "test.csv", test, label_column),
    )


def test_evaluate_intent_reports_figures_and_out_of_scope_recall(tmp_path):
    wanted = {"order_status", "card_lost", "refund", "greeting", "out_of_scope"}
    rows = [
        (t, "oos" if lab == "out_of_scope" else lab)
        for t, lab in intent_examples()
        if lab in wanted
    ]
    train, test = _split(rows, tmp_path, "category")
    out, err = StringIO(), StringIO()

    call_command(
        "evaluate",
        "intent",
        "--train",
        str(train),
        "--test",
        str(test),
        "--oos-label",
        "oos",
        "--json",
        str(tmp_path / "figures.json"),
        stdout=out,
        stderr=err,
    )

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert tuple(figures) == FIGURE_KEYS
    assert figures["macro_f1"] > 0.7 and figures["accuracy"] > 0.7
    assert figures["in_scope_accuracy"] > 0.7
    assert 0 <= figures["oos_recall"] <= 1
    assert 0 < figures["latency_ms_median"] <= figures["latency_ms_p95"]
    assert "macro_f1" in out.getvalue() and "predicted" in err.getvalue()


def test_evaluate_sentiment_with_another_label_column(tmp_path):
    train, test = _split(sentiment_examples(), tmp_path, "mood")

    call_command(
        "evaluate",
        "sentiment",
        "--train",
        str(train),
        "--test",
        str(test),
        "--label-column",
        "mood",
        "--json",
        str(tmp_path / "figures.json"),
        stdout=StringIO(),
        stderr=StringIO(),
    )

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["macro_f1"] > 0.7
    assert figures["in_scope_accuracy"] is None and figures["oos_recall"] is None


def test_evaluate_refuses_a_csv_without_the_label_column(tmp_path):
    train, test = _split(sentiment_examples(), tmp_path, "mood")

    with pytest.raises(CommandError, match="sentiment"):
        call_command(
            "evaluate", "sentiment", "--train", str(train), "--test", str(test), stderr=StringIO()
        )


def test_evaluate_intent_holds_out_intents_as_out_of_scope_and_reports_the_trade_off(tmp_path):
    wanted = {"order_status", "card_lost", "refund", "greeting", "opening_hours", "thanks"}
    rows = [(t, lab) for t, lab in intent_examples() if lab in wanted]
    train, test = _split(rows, tmp_path, "category")
    out, err = StringIO(), StringIO()

    call_command(
        "evaluate",
        "intent",
        "--train",
        str(train),
        "--test",
        str(test),
        "--holdout-intents",
        "2",
        "--json",
        str(tmp_path / "figures.json"),
        stdout=out,
        stderr=err,
    )

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert 0 <= figures["oos_recall"] <= 1
    # Precision is undefined (None) when the model flagged nothing as out of scope.
    assert figures["oos_precision"] is None or 0 <= figures["oos_precision"] <= 1
    assert figures["in_scope_accuracy"] > 0.7
    held = [line for line in err.getvalue().splitlines() if line.startswith("holding out 2")]
    assert held and "card_lost" in held[0]  # the same intents every run, spread over the labels
    assert "oos precision" in err.getvalue() and "never trained on" in out.getvalue()


def test_evaluate_intent_refuses_to_hold_out_every_intent(tmp_path):
    rows = [(t, lab) for t, lab in intent_examples() if lab in {"refund", "greeting"}]
    train, test = _split(rows, tmp_path, "category")
    with pytest.raises(CommandError, match="hold out 1 to 1"):
        call_command(
            "evaluate",
            "intent",
            "--train",
            str(train),
            "--test",
            str(test),
            "--holdout-intents",
            "2",
            stdout=StringIO(),
            stderr=StringIO(),
        )
