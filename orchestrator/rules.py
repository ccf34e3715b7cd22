"""Business rules as data: the conditions and actions a BusinessRule row may hold, how they are
checked when a supervisor saves one, and how they are evaluated against a message.

Conditions split in two: the rules agent checks those its context answers (facts, cases,
channel, time of day) in parallel with the other agents; the merge finishes the rest (intent,
confidence, this message's sentiment, the mood trend) once the other agents have answered.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from memory.context import ContextPack

CONTEXT_CONDITIONS = frozenset(
    {
        "fact",
        "case_status",
        "channel",
        "time_between",
        "churn_risk_at_least",
        "buying_intent_at_least",
    }
)
MESSAGE_CONDITIONS = frozenset(
    {"intent", "confidence_below", "confidence_at_least", "sentiment", "trend", "mood"}
)
CONDITIONS = CONTEXT_CONDITIONS | MESSAGE_CONDITIONS

SENTIMENT_LABELS = ("positive", "neutral", "negative")
TREND_DIRECTIONS = ("improving", "steady", "worsening")
PRIORITIES = ("low", "normal", "high", "urgent")
CASE_STATUSES = ("open", "pending", "resolved", "closed", "cancelled")
CHANNELS = ("sms", "voice", "email", "chat")

# Each action type and the fields it takes: (name, required).
ACTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "hand_off": (("reason", False),),
    "set_case_status": (("status", True), ("case_kind", False)),
    "add_fact": (("key", True), ("value", True)),
    "add_tag": (("tag", True),),
    "set_priority": (("priority", True),),
    "reply_template": (("template", True),),
}

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# Validation (the admin form) -------------------------------------------------------------------


def conditions_validate(conditions: Any) -> list[str]:
    """What is wrong with a rule's conditions; an empty list means they are usable."""
    if not isinstance(conditions, dict):
        return ['conditions must be an object, e.g. {"intent": ["refund"]}']
    errors = [
        f"unknown condition {name!r}; known: {', '.join(sorted(CONDITIONS))}"
        for name in conditions
        if name not in CONDITIONS
    ]
    if "intent" in conditions and not _is_text_list(conditions["intent"]):
        errors.append("intent must be a list of intent names")
    for name, allowed in (
        ("sentiment", SENTIMENT_LABELS),
        ("mood", SENTIMENT_LABELS),
        ("trend", TREND_DIRECTIONS),
        ("channel", CHANNELS),
    ):
        if name in conditions:
            errors += _choices_errors(name, conditions[name], allowed)
    for name in (
        "confidence_below",
        "confidence_at_least",
        "churn_risk_at_least",
        "buying_intent_at_least",
    ):
        if name in conditions:
            value = conditions[name]
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                errors.append(f"{name} must be a number between 0 and 1")
    if "fact" in conditions:
        fact = conditions["fact"]
        if not isinstance(fact, dict) or not isinstance(fact.get("key"), str) or not fact["key"]:
            errors.append(
                'fact must be {"key": "...", "equals": "..."} or {"key": ..., "missing": true}'
            )
    if "case_status" in conditions:
        case = conditions["case_status"]
        if not isinstance(case, dict) or "status" not in case:
            errors.append('case_status must be {"status": ["open"], "kind": "order"}')
        else:
            errors += _choices_errors("case_status.status", case["status"], CASE_STATUSES)
    if "time_between" in conditions:
        window = conditions["time_between"]
        if not isinstance(window, dict) or not all(
            isinstance(window.get(end), str) and _CLOCK.match(window[end]) for end in ("from", "to")
        ):
            errors.append('time_between must be {"from": "HH:MM", "to": "HH:MM"}')
    return errors


def actions_validate(actions: Any, *, template_names: frozenset[str] | None = None) -> list[str]:
    """What is wrong with a rule's actions; an empty list means they can all be carried out."""
    if not isinstance(actions, list) or not actions:
        return ['actions must be a non-empty list, e.g. [{"type": "hand_off"}]']
    errors: list[str] = []
    for index, action in enumerate(actions):
        where = f"action {index + 1}"
        if not isinstance(action, dict) or action.get("type") not in ACTIONS:
            errors.append(f"{where}: type must be one of {', '.join(ACTIONS)}")
            continue
        fields = ACTIONS[action["type"]]
        known = {name for name, _ in fields} | {"type"}
        errors += [f"{where}: unknown field {name!r}" for name in action if name not in known]
        errors += [
            f"{where}: {name} is required"
            for name, required in fields
            if required and not (isinstance(action.get(name), str) and action[name].strip())
        ]
        if action["type"] == "set_case_status" and action.get("status") not in CASE_STATUSES:
            errors.append(f"{where}: status must be one of {', '.join(CASE_STATUSES)}")
        if action["type"] == "set_priority" and action.get("priority") not in PRIORITIES:
            errors.append(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
        if (
            action["type"] == "reply_template"
            and template_names is not None
            and action.get("template") not in template_names
        ):
            errors.append(f"{where}: no reply template named {action.get('template')!r}")
    return errors


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _choices_errors(name: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    if not _is_text_list(value) or any(v not in allowed for v in value):
        return [f"{name} must be a list drawn from {', '.join(allowed)}"]
    return []


# Evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageSignals:
    """What the other agents found in this message, for the conditions the merge finishes."""

    intent: str
    confidence: float
    sentiment: str
    mood: str
    trend: str


def context_conditions_hold(
    conditions: dict[str, Any], *, pack: ContextPack, channel: str, at: dt.datetime
) -> bool:
    """Whether the conditions the context answers hold (those it does not are ignored here)."""
    if "channel" in conditions and channel not in conditions["channel"]:
        return False
    if "time_between" in conditions and not _within(conditions["time_between"], at):
        return False
    if "fact" in conditions and not _fact_holds(conditions["fact"], pack):
        return False
    return not ("case_status" in conditions and matching_case(conditions, pack) is None)


def message_conditions_hold(conditions: dict[str, Any], *, signals: MessageSignals) -> bool:
    """Whether the conditions on what the other agents found hold."""
    checks = (
        ("intent", lambda wanted: signals.intent in wanted),
        ("confidence_below", lambda limit: signals.confidence < limit),
        ("confidence_at_least", lambda limit: signals.confidence >= limit),
        ("sentiment", lambda wanted: signals.sentiment in wanted),
        ("mood", lambda wanted: signals.mood in wanted),
        ("trend", lambda wanted: signals.trend in wanted),
    )
    return all(check(conditions[name]) for name, check in checks if name in conditions)


def matching_case(conditions: dict[str, Any], pack: ContextPack) -> int | None:
    """The newest open case the rule is about (by its case_status condition), if any."""
    wanted = conditions.get("case_status", {})
    for case in pack.open_cases:
        kind_ok = not wanted.get("kind") or case.kind == wanted["kind"]
        status_ok = not wanted.get("status") or case.status in wanted["status"]
        if kind_ok and status_ok:
            return case.case_id
    return None


def _fact_holds(condition: dict[str, Any], pack: ContextPack) -> bool:
    key = str(condition["key"]).strip().lower()
    current = [fact for fact in pack.facts if fact.key == key]
    if condition.get("missing"):
        return not current
    if "equals" in condition:
        wanted = str(condition["equals"]).casefold()
        return any(fact.value.casefold() == wanted for fact in current)
    return bool(current)


def _within(window: dict[str, str], at: dt.datetime) -> bool:
    """Whether `at`, in the contact center's time zone, falls in the window (may wrap midnight)."""
    local = timezone.localtime(at).time()
    start = dt.time.fromisoformat(window["from"])
    end = dt.time.fromisoformat(window["to"])
    if start <= end:
        return start <= local < end
    return local >= start or local < end
