"""The responder: writes the reply from a template, filled only from the context pack it was
given, so it never states a fact it was not allowed to read. It speaks the customer's words,
not the system's: a case is "being looked into", never "open"; and when the router is unsure
what the customer needs, it asks about the likely need instead of asserting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.agents.intent import CONFIRM_PREFIX
from orchestrator.replies import TemplateUnusable, context_values, template_fill

if TYPE_CHECKING:
    from memory.context import ContextPack

FALLBACK_TEMPLATE = "acknowledge"
CLARIFY_TEMPLATE = "clarify"
CONFIRM_TEMPLATE = "confirm"

# Asks about the likely need; an admin template named "confirm" replaces it.
DEFAULT_CONFIRM = (
    "[Hi {first_name}, thanks|Thanks] for your message. Just to be sure I help with the right"
    " thing: is this about {intent_topic}? If not, tell me a little more and I'll sort it out."
)

# What each intent is about, in the customer's words, for the question that confirms it.
INTENT_TOPICS: dict[str, str] = {
    "order_status": "where your order is",
    "delivery_problem": "a problem with a delivery",
    "return_item": "sending something back",
    "refund": "a refund",
    "cancel": "cancelling",
    "billing_dispute": "a charge you don't recognise",
    "payment_issue": "a payment that didn't go through",
    "card_lost": "a lost or stolen card",
    "account_access": "getting into your account",
    "address_change": "changing your address",
    "contact_update": "updating your contact details",
    "appointment_book": "booking an appointment",
    "appointment_change": "changing an appointment",
    "outage": "a service outage",
    "complaint": "a complaint about our service",
    "technical_support": "something that isn't working",
    "plan_change": "changing your plan",
    "opening_hours": "our opening hours",
    "warranty_claim": "a repair or replacement under warranty",
    "pause": "putting your membership or plan on hold",
    "booking_request": "a request for your booking",
    "purchase": "buying something from us",
    "speak_to_human": "talking to a person",
}

# Case statuses as a customer should read them; a status not listed is never stated.
CUSTOMER_STATUS_WORDS: dict[str, str] = {
    "open": "being looked into",
    "pending": "in progress",
    "resolved": "sorted on our side",
    "closed": "complete",
    "cancelled": "cancelled",
}


def customer_facing(values: dict[str, str]) -> dict[str, str]:
    """The template values with internal status words turned into the customer's words."""
    worded = dict(values)
    status = worded.pop("case_status", None)
    if status is not None and status.strip().lower() in CUSTOMER_STATUS_WORDS:
        worded["case_status"] = CUSTOMER_STATUS_WORDS[status.strip().lower()]
    return worded


@dataclass(frozen=True)
class ResponderAgent:
    """Fills `template` (a name in `templates`), or the plain acknowledgement if it cannot.

    `confirm:<intent>` asks whether the message is about that intent (the router was unsure).
    """

    templates: dict[str, str] = field(default_factory=dict)
    template: str = FALLBACK_TEMPLATE
    case_id: int | None = None
    name: str = "responder"
    reads: frozenset[Partition] = field(
        default_factory=lambda: frozenset({Partition.PROFILE, Partition.BUSINESS})
    )
    may_write: frozenset[WriteKind] = frozenset({WriteKind.REPLY})
    timeout_seconds: float = 1.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        values = customer_facing(context_values(pack, case_id=self.case_id))
        templates = dict(self.templates)
        chosen = self.template
        if chosen.startswith(CONFIRM_PREFIX):
            topic = INTENT_TOPICS.get(chosen.removeprefix(CONFIRM_PREFIX))
            if topic is not None:
                values["intent_topic"] = topic
                templates.setdefault(CONFIRM_TEMPLATE, DEFAULT_CONFIRM)
                chosen = CONFIRM_TEMPLATE
            else:
                chosen = CLARIFY_TEMPLATE
        if chosen not in templates:
            chosen = FALLBACK_TEMPLATE
        try:
            filled = template_fill(templates[chosen], values=values, name=chosen)
        except TemplateUnusable as unusable:
            filled = template_fill(
                templates[FALLBACK_TEMPLATE], values=values, name=FALLBACK_TEMPLATE
            )
            chosen = f"{FALLBACK_TEMPLATE} ({unusable})"
        return AgentOutcome(
            findings={"reply": filled.text, "template": chosen, "stated": list(filled.stated)},
            writes=(ProposedWrite(kind=WriteKind.REPLY, value=filled.text),),
        )
