"""Filters that put an agent trace into words for the conversation page's timeline: what each
agent found and proposed, what the plan ran and skipped, and what was decided."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# How many items of a list (entities, alternatives, statements) one line names.
LIST_ITEMS = 4
VALUE_CHARS = 120

ROUTES = {
    "reply": "answered automatically",
    "clarify": "asked the customer to clarify",
    "hand_off": "handed to a person",
    "with_person": "left to the person who has it",
}


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _share(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return str(value)


def _intent(found: dict[str, Any]) -> list[str]:
    lines = [f"intent {found.get('intent') or '?'} ({_share(found.get('confidence', 0))} sure)"]
    alternatives = [
        f"{pair[0]} {_share(pair[1])}"
        for pair in found.get("alternatives") or ()
        if isinstance(pair, list | tuple) and len(pair) == 2
    ][:LIST_ITEMS]
    if alternatives:
        lines.append("also considered " + ", ".join(alternatives))
    if found.get("out_of_scope"):
        lines.append("outside what automation handles")
    if found.get("asks_for_person"):
        lines.append("the customer asks for a person")
    return lines


def _sentiment(found: dict[str, Any]) -> list[str]:
    line = f"mood {found.get('label') or '?'} (score {found.get('score', '?')})"
    if found.get("prior_mood"):
        line += f", was {found['prior_mood']}"
        if found.get("prior_trend"):
            line += f" and {found['prior_trend']}"
    return [line]


def _responder(found: dict[str, Any]) -> list[str]:
    lines = [f"drafted a reply from “{found.get('template') or 'free text'}”"]
    if found.get("reply"):
        lines.append(f"“{_short(found['reply'])}”")
    return lines


def _rules(found: dict[str, Any]) -> list[str]:
    lines = [f"checked {found.get('checked', 0)} business rules"]
    candidates = found.get("candidates") or []
    if candidates:
        names = [
            str(c.get("name") or c.get("rule") or c) if isinstance(c, dict) else str(c)
            for c in candidates
        ]
        lines.append("matched " + ", ".join(_short(n) for n in names[:LIST_ITEMS]))
    escalation = found.get("escalation") or {}
    if escalation:
        reasons = []
        if escalation.get("escalate"):
            reasons.append("bring a person in")
        reasons.append(f"wants a person {_share(escalation.get('wants_person', 0))}")
        reasons.append(f"angry {_share(escalation.get('angry', 0))}")
        lines.append("escalation read: " + ", ".join(reasons))
    return lines


def _entities(found: dict[str, Any]) -> list[str]:
    lines = []
    named = [
        f"{e.get('key') or e.get('kind')}: {_short(e.get('value') or e.get('text') or '')}"
        for e in found.get("entities") or ()
        if isinstance(e, dict)
    ]
    if named:
        lines.append("found " + "; ".join(named[:LIST_ITEMS]))
    statements = [
        f"{pair[0]} = {_short(pair[1])}"
        for pair in found.get("statements") or ()
        if isinstance(pair, list | tuple) and len(pair) == 2
    ]
    if statements:
        lines.append("customer stated " + "; ".join(statements[:LIST_ITEMS]))
    if found.get("gist"):
        lines.append(f"gist: {_short(found['gist'])}")
    if found.get("filler"):
        lines.append("small talk, nothing to act on")
    return lines or ["found nothing to note"]


def _generic(found: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in found.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(_short(item) for item in value[:LIST_ITEMS])
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {_short(v)}" for k, v in list(value.items())[:LIST_ITEMS])
        lines.append(f"{key.replace('_', ' ')}: {_short(value)}")
    return lines


QUIET_WRITES = ("reply", "gist")

READERS = {
    "intent": _intent,
    "sentiment": _sentiment,
    "responder": _responder,
    "rules": _rules,
    "entities": _entities,
}


@register.filter
def agent_findings(step: Any) -> list[str]:
    """What one agent found and proposed, as short lines; an agent this page does not know
    is shown by its findings' names and values."""
    output = getattr(step, "output", None) or {}
    found = output.get("findings") if isinstance(output.get("findings"), dict) else output
    if not found:
        return []  # it failed or timed out before finding anything: its status says so
    reader = READERS.get(getattr(step, "name", ""), _generic)
    try:
        lines = reader(found)
    except (AttributeError, TypeError, ValueError):
        lines = _generic(found)
    for write in output.get("writes") or ():
        # The reply and the gist are already said above; an empty proposal says nothing.
        if not isinstance(write, dict) or write.get("kind") in QUIET_WRITES:
            continue
        if str(write.get("value") or "").strip():
            target = write.get("key") or write.get("kind")
            lines.append(f"proposes {target}: {_short(write['value'])}")
    return lines


@register.filter
def plan_summary(trace: Any) -> str:
    """Which agents the plan ran, on which path, and what it skipped and why."""
    plan = getattr(trace, "plan", None) or {}
    agents = ", ".join(plan.get("agents") or ()) or "no agents"
    line = f"{getattr(trace, 'path', '') or plan.get('path', '')} path: {agents}"
    skipped = plan.get("skipped") or {}
    if isinstance(skipped, dict) and skipped:
        named = [f"{name} ({_short(why)})" for name, why in list(skipped.items())[:LIST_ITEMS]]
        line += "; skipped " + ", ".join(named)
    return line


@register.filter
def decision_summary(trace: Any) -> str:
    """The route taken in words, with the intent it acted on."""
    decision = getattr(trace, "decision", None) or {}
    route = str(decision.get("route") or "")
    said = ROUTES.get(route, route.replace("_", " ") or "no decision recorded")
    if decision.get("template") and route in ("reply", "clarify"):
        said += f" with “{decision['template']}”"
    return said
