"""Rapport's own examples of the turns that matter to the business beyond their intent: a
customer about to leave (churn) and a customer ready to buy. Every other turn (the intent
set's other intents) is "none", so a complaint alone is not read as leaving.
"""

from __future__ import annotations

from orchestrator.intelligence.training_data.intents import PHRASINGS as INTENT_PHRASINGS
from orchestrator.intelligence.training_data.variation import vary

CHURN = "churn"
BUYING = "buying"
NONE = "none"

PHRASINGS: dict[str, tuple[str, ...]] = {
    CHURN: (
        "I'm thinking of leaving",
        "I'll take my business elsewhere",
        "switching to another provider next month",
        "your competitor offered me a much better deal",
        "please cancel my subscription",
        "close my account, I'm done",
        "I don't want the service anymore",
        "not renewing my contract this year",
        "this is the last straw, I'm moving to someone else",
        "how do I port my number out",
        "what's the early termination fee",
        "unless this gets fixed today I'm leaving",
        "found a cheaper option, how do I get out of the contract",
        "stop my membership for good",
        "end my contract at the end of the month",
        "I'm going to cancel if nobody calls me back",
        "give me one reason to stay with you",
        "what's the notice period to leave",
        "after ten years I'm out, the prices keep going up",
        "I've had enough, terminate everything",
    ),
    BUYING: (
        "I'd like to buy one",
        "do you have this in stock",
        "how much is the premium plan, I want it",
        "I want to upgrade to the top package",
        "can I get a quote for {amount}",
        "sign me up please",
        "I want to add another line for my daughter",
        "ready to order, what's next",
        "what does the family plan cost per month",
        "can I purchase a gift card",
        "we're interested in the business package for 20 staff",
        "I'd like to order more of the same",
        "is the new model available yet, I'll take it",
        "how do I pay for the upgrade",
        "put me on the premium package",
        "send me a price for ten licences",
        "can I add the extended warranty to my order",
        "we want to book the bigger room for our event",
        "do you deliver? I'd like to place an order",
        "which one would you recommend, I'm buying today",
    ),
}

EXAMPLES_PER_SIGNAL = 150
# Intents whose examples say nothing about leaving or buying; the others are left out of
# "none" because some of their wordings do (a cancellation, a plan upgrade, a purchase).
_MIXED_INTENTS = frozenset({"cancel", "plan_change", "purchase", "pause"})
NONE_PER_INTENT = 18


def signal_examples() -> list[tuple[str, str]]:
    """(text, signal) pairs: churn and buying varied to 150 each, and "none" drawn from the
    intent set's other intents."""
    examples: list[tuple[str, str]] = []
    for signal, phrasings in PHRASINGS.items():
        texts = vary(phrasings, count=EXAMPLES_PER_SIGNAL, seed=f"signal:{signal}")
        examples.extend((text, signal) for text in texts)
    for intent, phrasings in INTENT_PHRASINGS.items():
        if intent in _MIXED_INTENTS:
            continue
        texts = vary(phrasings, count=NONE_PER_INTENT, seed=f"signal-none:{intent}")
        examples.extend((text, NONE) for text in texts)
    return examples
