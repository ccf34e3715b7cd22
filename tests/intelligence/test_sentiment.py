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
