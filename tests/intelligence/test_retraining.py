"""Retraining from supervisors' corrections: promoted when no worse, refused when worse."""

from __future__ import annotations

from memory import services
from orchestrator.intelligence.api import classify_intent
from orchestrator.intelligence.store import stored_model_load, training_history_read
from orchestrator.intelligence.tasks import models_retrain
from orchestrator.intelligence.training import is_held_out, model_retrain
from orchestrator.intelligence.training_data.intents import intent_examples

BASE_INTENTS = {"order_status", "card_lost", "greeting", "refund"}


def _base() -> list[tuple[str, str]]:
    return [(text, label) for text, label in intent_examples() if label in BASE_INTENTS]


def _correct(inbound_sms, texts: list[str], intent: str) -> None:
    for text in texts:
        message = inbound_sms(text=text)
        services.intent_correction_record(message=message, corrected_intent=intent)


def test_corrections_teach_a_new_intent_and_the_model_is_promoted(empty_model_dir, inbound_sms):
    first = model_retrain(kind="intent", base_examples=_base())
    assert first.promoted and first.version == 1
    texts = [
        f"{opener} my loyalty points {problem}"
        for opener in ("hi", "hey", "um", "so", "hello", "ok")
        for problem in ("are missing", "never got added", "disappeared", "dont show up")
    ]
    _correct(inbound_sms, texts, "loyalty_points")

    outcome = model_retrain(kind="intent", base_examples=_base())

    assert outcome.promoted
    assert outcome.version == 2
    assert outcome.corrections == len(texts)
    assert stored_model_load("intent").record.version == 2
    assert classify_intent("my loyalty points vanished").intent == "loyalty_points"


def test_retraining_refuses_a_model_that_scores_worse(empty_model_dir, inbound_sms):
    model_retrain(kind="intent", base_examples=_base())
    in_service = (empty_model_dir / "intent.joblib").read_bytes()
    # Careless corrections: order questions filed as greetings, all landing in training data.
    order_questions = [text for text, label in _base() if label == "order_status"]
    poisoned = [
        f"{text} {ending}"
        for text in order_questions
        for ending in ("ok", "hm", "thx")
        if not is_held_out(f"{text} {ending}")
    ]
    _correct(inbound_sms, poisoned, "greeting")

    outcome = model_retrain(kind="intent", base_examples=_base())

    assert not outcome.promoted
    assert outcome.incumbent_macro_f1 is not None
    assert outcome.candidate_macro_f1 < outcome.incumbent_macro_f1
    assert outcome.version == 1
    assert (empty_model_dir / "intent.joblib").read_bytes() == in_service
    assert [entry["promoted"] for entry in training_history_read("intent")] == [True, False]
    assert classify_intent("where is my order 12").intent == "order_status"


def test_retrain_task_runs_through_celery(empty_model_dir, db):
    result = models_retrain.delay(["sentiment"])

    outcomes = result.get()
    assert models_retrain.name == "intelligence.models_retrain"
    assert [o["kind"] for o in outcomes] == ["sentiment"]
    assert outcomes[0]["promoted"]
    assert stored_model_load("sentiment").record.version == 1
