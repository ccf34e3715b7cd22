"""Reply templates and how they are filled: only from the context pack the responder was given,
so a reply can never state a name, a case or a fact the responder was not allowed to see.

A template is text with `{placeholders}`. `[...]` is an optional part, dropped when any
placeholder in it is unknown to the context; `[first|second]` says the first part when the
context fills it, else the second. A placeholder outside brackets that the context cannot fill
makes the template unusable, and the responder falls back to a plain acknowledgement. A value
the responder was only shown masked counts as unknown: a customer never reads "[address-1]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memory.masked import has_masked_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from memory.context import ContextPack

GREETING = "[Hi {first_name}, thanks|Thanks] for your message[ about {case_kind} {case_reference}]"

# Built-in templates per intent; a ReplyTemplate row in the admin overrides one by name.
DEFAULT_TEMPLATES: dict[str, str] = {
    "acknowledge": GREETING + ". We have it and will get back to you shortly.",
    "clarify": (
        "[Hi {first_name}, thanks|Thanks] for your message. I want to get this right: could you"
        " tell me a little more about what you need?"
    ),
    "handoff": (
        "[Of course, {first_name}|Of course]. I'm connecting you with a member of our team now."
    ),
    "greeting": "[Hi {first_name}, thanks|Thanks] for your message. How can I help you today?",
    "thanks": "You're welcome[, {first_name}]! Is there anything else I can help with?",
    "goodbye": "Thanks for getting in touch[, {first_name}]. Have a good day!",
    "affirm": GREETING + ". Great, we'll carry on with that.",
    "deny": GREETING + ". No problem, we won't go ahead. Anything else I can help with?",
    "order_status": (
        GREETING + ".[ It is currently {case_status}.][ Expected delivery: {fact.delivery_date}.]"
        " We're checking on it and will update you shortly."
    ),
    "delivery_problem": (
        GREETING + ". I'm sorry it didn't arrive as it should. We're looking into it and will"
        " come back to you with a fix shortly."
    ),
    "return_item": GREETING + ". We'll send you the return instructions shortly.",
    "refund": (
        GREETING + ". I've noted your refund request[ for {fact.amount_mentioned}]; our team"
        " will confirm it shortly."
    ),
    "cancel": GREETING + ". I've passed your cancellation request on; we'll confirm it shortly.",
    "complaint": (
        GREETING + ". I'm sorry about this. I've flagged it to our team and we'll come back to"
        " you shortly."
    ),
    "billing_dispute": GREETING + ". Our billing team will review the charge and get back to you.",
    "payment_issue": GREETING + ". Our billing team will look into the payment and reply shortly.",
    "card_lost": GREETING + ". We're on it; our team will contact you right away to secure it.",
    "account_access": GREETING + ". We'll help you get back into your account shortly.",
    "address_change": GREETING + ". We'll update the address[ to {fact.address}] and confirm.",
    "contact_update": GREETING + ". We'll update your contact details and confirm shortly.",
    "appointment_book": GREETING + ". We'll confirm a time for your appointment shortly.",
    "appointment_change": GREETING + ". We'll confirm the change to your appointment shortly.",
    "outage": GREETING + ". We're checking for problems in your area and will update you.",
    "technical_support": GREETING + ". Our support team will help you with this shortly.",
    "plan_change": GREETING + ". We'll look at your plan options and get back to you.",
    "opening_hours": GREETING + ". A member of our team will confirm our opening hours shortly.",
    "warranty_claim": GREETING + ". We'll check the warranty and get back to you shortly.",
    "pause": (
        GREETING + ". We can look at putting it on hold rather than ending it; we'll confirm the"
        " options shortly."
    ),
    "booking_request": GREETING + ". We've noted your request and will confirm it shortly.",
    "purchase": GREETING + ". Happy to help with that; we'll send you the details shortly.",
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z0-9_]+)?)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
PLAIN_PLACEHOLDERS = frozenset(
    {"first_name", "case_kind", "case_reference", "case_status", "case_title"}
)


class TemplateUnusable(ValueError):
    """The template needs something the context does not hold."""


@dataclass(frozen=True)
class FilledReply:
    """A reply and the context values it states (so a test or a supervisor can check them)."""

    text: str
    template: str
    stated: tuple[str, ...]


def template_placeholders_validate(body: str) -> list[str]:
    """What is wrong with a template's text; an empty list means it can be filled."""
    errors = []
    if body.count("[") != body.count("]"):
        errors.append("unbalanced [ ] in the template")
    for name in _PLACEHOLDER.findall(body):
        if name not in PLAIN_PLACEHOLDERS and not name.startswith("fact."):
            known = ", ".join(sorted(PLAIN_PLACEHOLDERS))
            errors.append(f"unknown placeholder {{{name}}}; known: {known}, fact.<key>")
    leftover = _PLACEHOLDER.sub("", body)
    if "{" in leftover or "}" in leftover:
        errors.append("stray { or } in the template (placeholders look like {first_name})")
    return errors


def context_values(pack: ContextPack, *, case_id: int | None = None) -> dict[str, str]:
    """Everything a template may say, drawn from the pack alone."""
    values: dict[str, str] = {}
    if pack.profile is not None and pack.profile.display_name.strip():
        values["first_name"] = pack.profile.display_name.split()[0]
    cases = [c for c in pack.open_cases if case_id is None or c.case_id == case_id]
    case = cases[0] if cases else None
    if case is not None:
        values.update(case_kind=case.kind, case_reference=case.reference, case_status=case.status)
        if case.title:
            values["case_title"] = case.title
    for fact in pack.facts:
        if fact.case_reference is None or (case and fact.case_reference == case.reference):
            values.setdefault(f"fact.{fact.key}", fact.value)
    # A value the responder saw masked ("[address-1], Springfield") is one it may not state:
    # left unknown, so the template's variant without it is the one said.
    return {name: value for name, value in values.items() if not has_masked_token(value)}


def template_fill(body: str, *, values: dict[str, str], name: str = "") -> FilledReply:
    """Fill a template from `values`; raises TemplateUnusable if a required value is missing.

    One pass over the template's parts, so a value (which may be the customer's own words) is
    never read as a placeholder itself.
    """
    stated: list[str] = []
    parts: list[str] = []

    def fill(part: str) -> str | None:
        names = _PLACEHOLDER.findall(part)
        if any(n not in values for n in names):
            return None
        stated.extend(values[n] for n in names)
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], part)

    position = 0
    for optional in _OPTIONAL.finditer(body):
        parts.append(_required(fill, body[position : optional.start()], name))
        choices = (fill(choice) for choice in optional.group(1).split("|"))
        parts.append(next((c for c in choices if c is not None), ""))
        position = optional.end()
    parts.append(_required(fill, body[position:], name))
    text = re.sub(r"\s{2,}", " ", "".join(parts)).strip()
    return FilledReply(text=text, template=name, stated=tuple(stated))


def _required(fill: Callable[[str], str | None], part: str, name: str) -> str:
    filled = fill(part)
    if filled is None:
        raise TemplateUnusable(f"template {name!r} needs {', '.join(_PLACEHOLDER.findall(part))}")
    return filled
