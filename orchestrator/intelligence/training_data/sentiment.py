"""Rapport's own contact-center sentiment set: how customers sound when pleased, matter-of-fact
or upset, varied by the same rules as the intent set.
"""

from __future__ import annotations

from orchestrator.intelligence.training_data.variation import vary

PHRASINGS: dict[str, tuple[str, ...]] = {
    "positive": (
        "Thank you so much, that was really helpful!",
        "Great service, the package arrived early",
        "You guys are awesome",
        "Perfect, that solved my problem",
        "I really appreciate your quick response",
        "the agent was lovely and fixed everything",
        "love the new app, so easy to use",
        "Brilliant, my refund came through already",
        "thanks, you made my day",
        "excellent support as always",
        "so happy with my order",
        "that was painless, thanks a lot",
        "wow that was fast, impressed",
        "the technician was friendly and on time",
        "best customer service I've had in ages",
        "everything works now, great job",
        "glad that's sorted, cheers",
        "amazing, thank you for going the extra mile",
        "you've been very patient with me, thank you",
        "the new plan is great value",
    ),
    "neutral": (
        "What time do you open tomorrow?",
        "My order number is {order}",
        "I'd like to change my delivery address",
        "Can you tell me the status of my refund?",
        "my email is {email}",
        "I need to reschedule my appointment to {date}",
        "how do I update my payment method",
        "please send the invoice to my email",
        "is the store open on sunday",
        "the charge was {amount}",
        "I'm calling about my account",
        "can I pay by card",
        "ok",
        "what's the return policy",
        "I moved to {address}",
        "please call me back at {phone}",
        "which plan includes international calls",
        "I have a question about my bill",
        "when does the technician arrive",
        "yes that's the right address",
    ),
    "negative": (
        "This is the worst service I've ever had",
        "I've been waiting for two hours, ridiculous",
        "my package still hasn't arrived and nobody cares",
        "You charged me twice, fix it now",
        "I'm so frustrated with your company",
        "the item came broken, very disappointed",
        "nobody ever calls back, unacceptable",
        "your app is useless",
        "I'm cancelling, I've had enough",
        "terrible experience, never again",
        "this is a joke, third time I'm calling",
        "the agent was rude and hung up on me",
        "still no refund after a month, this is theft",
        "I'm really angry about this charge",
        "what a waste of money",
        "my internet has been down all day and you do nothing",
        "stop sending me spam",
        "you lost my order again",
        "I'm fed up with the excuses",
        "worst delivery company ever, package soaked",
    ),
}

EXAMPLES_PER_LABEL = 150


def sentiment_examples() -> list[tuple[str, str]]:
    """(text, label) pairs for positive, neutral and negative, 150 of each."""
    examples: list[tuple[str, str]] = []
    for label, phrasings in PHRASINGS.items():
        texts = vary(phrasings, count=EXAMPLES_PER_LABEL, seed=f"sentiment:{label}")
        examples.extend((text, label) for text in texts)
    return examples
