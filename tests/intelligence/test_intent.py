"""Intent: a trained model that round-trips through the store and abstains when unsure."""

from __future__ import annotations

from orchestrator.intelligence.api import classify_intent
from orchestrator.intelligence.intent import OUT_OF_SCOPE, intent_predict, intent_train
from orchestrator.intelligence.store import (
    ModelRecord,
    StoredModel,
    stored_model_load,
    stored_model_save,
)
from orchestrator.intelligence.training_data.intents import intent_examples

SMALL_INTENTS = {"order_status", "card_lost", "greeting", "refund"}


def _small_examples() -> list[tuple[str, str]]:
    return [(text, label) for text, label in intent_examples() if label in SMALL_INTENTS]


def test_trained_intent_model_round_trips_through_the_store(empty_model_dir):
    examples = _small_examples()
    classifier = intent_train(
        texts=[t for t, _ in examples], labels=[label for _, label in examples]
    )
    record = ModelRecord(
        kind="intent",
        version=7,
        recipe=classifier.recipe.description,
        examples=len(examples),
        corrections=0,
        held_out_examples=0,
        held_out_macro_f1=1.0,
        trained_at="2026-11-24T00:00:00+00:00",
    )
    stored_model_save(StoredModel(classifier=classifier, record=record))

    loaded = stored_model_load("intent")

    assert loaded is not None
    assert loaded.record.version == 7
    message = "i lost my card at the mall, pls block it"
    before = intent_predict(classifier, message)
    after = intent_predict(loaded.classifier, message)
    assert after == before
    assert after.intent == "card_lost"
    assert sorted(loaded.classifier.labels) == sorted(SMALL_INTENTS)


def test_default_model_reads_contact_center_messages():
    readings = {
        "hey where's my order 88123, it was supposed to come yesterday": "order_status",
        "someone stole my wallet, block my card now": "card_lost",
        "I was charged twice for the same thing": "billing_dispute",
        "can i talk to a real person please": "speak_to_human",
        "need to move my appointment to next friday": "appointment_change",
    }
    for text, intent in readings.items():
        prediction = classify_intent(text)
        assert prediction.intent == intent, (text, prediction)
        assert not prediction.out_of_scope
        assert prediction.alternatives[0][0] == intent


def test_off_topic_message_answers_out_of_scope():
    prediction = classify_intent("what's the capital of australia")

    assert prediction.out_of_scope
    assert prediction.intent == OUT_OF_SCOPE
    assert prediction.alternatives  # the best guesses are still there for a person to see


def test_low_confidence_abstains_instead_of_guessing(settings):
    text = "hmm the thing from before"
    confident = classify_intent(text, threshold=0.0)
    assert not confident.out_of_scope or confident.alternatives[0][0] == OUT_OF_SCOPE

    settings.INTENT_CONFIDENCE_THRESHOLD = 0.99
    unsure = classify_intent(text)

    assert unsure.out_of_scope
    assert unsure.intent == OUT_OF_SCOPE
    assert unsure.confidence < 0.99


def test_the_averaged_recipe_sharpens_without_changing_the_winner():
    """Temperature scaling only rescales: the label each message gets is the plain average's."""
    examples = _small_examples()
    classifier = intent_train(
        texts=[t for t, _ in examples], labels=[label for _, label in examples]
    )
    model = classifier.pipeline.named_steps["model"]
    features = classifier.pipeline.named_steps["features"].transform(
        ["my card is gone", "hello there", "money back please", "where's my parcel"]
    )
    sharpened = model.predict_proba(features)
    model.temperature = 1.0
    plain = model.predict_proba(features)
    assert (sharpened.argmax(axis=1) == plain.argmax(axis=1)).all()
    assert (sharpened.max(axis=1) >= plain.max(axis=1)).all()
    assert abs(sharpened.sum(axis=1) - 1).max() < 1e-9
    assert list(model.predict(features)) == [classifier.labels[i] for i in plain.argmax(axis=1)]
