"""The `embeddings` extra: MiniLM features from the packaged model when it is installed, and
TF-IDF alone (not an error) when it is not.
"""

from __future__ import annotations

import importlib.util

import pytest

from orchestrator.intelligence import features
from orchestrator.intelligence.intent import INTENT_RECIPE, intent_predict, intent_train
from orchestrator.intelligence.training_data.intents import intent_examples

EXTRA_INSTALLED = all(
    importlib.util.find_spec(name) is not None
    for name in ("sentence_transformers", features.EMBEDDING_MODEL_PACKAGE)
)
needs_extra = pytest.mark.skipif(
    not EXTRA_INSTALLED, reason="the embeddings extra (sentence-transformers) is not installed"
)
SMALL_INTENTS = {"order_status", "card_lost", "greeting", "refund"}


def _small_examples() -> list[tuple[str, str]]:
    return [(text, label) for text, label in intent_examples() if label in SMALL_INTENTS]


def test_wanting_embeddings_without_the_extra_trains_on_tfidf_alone(monkeypatch):
    monkeypatch.setattr(features, "embeddings_available", lambda: False)

    recipe = features.with_available_embeddings(INTENT_RECIPE, wanted=True)
    examples = _small_examples()
    classifier = intent_train(
        texts=[t for t, _ in examples], labels=[label for _, label in examples], embeddings=True
    )

    assert recipe == INTENT_RECIPE and not recipe.embeddings
    assert not classifier.recipe.embeddings
    assert "embeddings" not in classifier.pipeline.named_steps["features"].named_transformers


@needs_extra
def test_packaged_minilm_loads_offline_from_site_packages():
    path = features.packaged_model_path()
    encoder = features.sentence_encoder()

    assert (path / "model.safetensors").is_file()
    assert encoder is not None
    vectors = features.SentenceEmbeddingFeatures().transform(["where is my card", "hello"])
    assert vectors.shape == (2, 384)


@needs_extra
def test_intent_model_with_embeddings_reads_messages_and_pickles_without_the_encoder():
    import pickle

    examples = _small_examples()
    classifier = intent_train(
        texts=[t for t, _ in examples], labels=[label for _, label in examples], embeddings=True
    )

    assert classifier.recipe.embeddings
    assert intent_predict(classifier, "i lost my card, please block it").intent == "card_lost"
    # The 90 MB encoder is loaded per process, never saved with the model.
    assert len(pickle.dumps(classifier)) < 20_000_000
