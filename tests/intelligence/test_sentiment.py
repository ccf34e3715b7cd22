"""Sentiment: label and score from the default model, recorded for the emotion trend."""

from __future__ import annotations

from orchestrator.intelligence.api import classify_sentiment


def test_default_sentiment_model_tells_upset_from_pleased():
    angry = classify_sentiment("this is ridiculous, third time calling and still no refund!!")
    pleased = classify_sentiment("thank you so much, the agent was great")
    plain = classify_sentiment("my order number is 55012")

    assert angry.label == "negative" and angry.score < -0.3
    assert pleased.label == "positive" and pleased.score > 0.3
    assert plain.label == "neutral"
    assert -1 <= angry.score <= 1 and 0 < angry.confidence <= 1


def test_sentiment_scores_follow_the_label_the_svm_chose():
    """The softmax over margins keeps the SVM's own choice and gives a score in [-1, 1]."""
    import numpy as np

    from orchestrator.intelligence.sentiment import sentiment_predict, sentiment_train

    texts = [
        "thanks a lot, brilliant help",
        "love it, great job",
        "wonderful service, thank you",
        "awful, nobody ever answers",
        "terrible delay again, so angry",
        "worst support I have ever had",
        "my account number is 1234",
        "what time do you open on sunday",
        "I moved house last week",
    ]
    labels = ["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3
    classifier = sentiment_train(texts=texts, labels=labels, embeddings=False)
    probe = ["great, thank you so much", "this is awful", "my postcode changed"]
    probabilities = classifier.probabilities(probe)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    model = classifier.pipeline.named_steps["model"]
    features = classifier.pipeline.named_steps["features"].transform(probe)
    assert list(model.svm_.predict(features)) == classifier.predict(probe)
    reading = sentiment_predict(classifier, "great, thank you so much")
    assert reading.label == "positive" and 0 < reading.score <= 1


def test_lexicon_features_know_negated_and_shouted_tone():
    """VADER's rated words: "not good" leans negative, "GREAT!!!" more positive than "great"."""
    from orchestrator.intelligence.features import LexiconPolarityFeatures

    rows = LexiconPolarityFeatures().transform(["not good", "great", "GREAT!!!", "order 55012"])
    not_good, great, shouted, plain = rows
    assert not_good[1] > 0 and not_good[0] == 0  # negative compound only
    assert shouted[0] > great[0] > 0
    assert list(plain) == [0.0, 0.0, 0.0, 0.0]


def test_default_model_reads_negated_praise_as_negative():
    assert classify_sentiment("the agent was not helpful at all").label == "negative"
