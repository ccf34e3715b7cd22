"""Routing: from what the agents found to who answers and how. Business rules first, then the
standing reasons to bring a person in (asked for one, upset, not understood twice), then
delegation by intent (IntentRoute: the responder with a template, an external agent, people).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings

from memory.actors import AgentActor, Partition
from memory.selectors import context_read
from orchestrator.agents.base import ProposedWrite, WriteKind
from orchestrator.intelligence.api import OUT_OF_SCOPE
from orchestrator.models import IntentRoute, PipelineRun, ReplyTemplate
from orchestrator.replies import DEFAULT_TEMPLATES
from orchestrator.rules import MessageSignals, message_conditions_hold

if TYPE_CHECKING:
    from memory.context import EmotionView
    from orchestrator.agents.base import InboundTurn

# The router reads the mood after this message's reading is merged: the trend that decides.
ROUTER = AgentActor(name="router", scopes=frozenset({Partition.EMOTION}))
ASK_FOR_PERSON_INTENT = "speak_to_human"


class Route(StrEnum):
    REPLY = "reply"
    CLARIFY = "clarify"
    HAND_OFF = "hand_off"
    WITH_PERSON = "with_person"


@dataclass(frozen=True)
class Decision:
    """Who answers this message and why, as recorded on the pipeline run."""

    route: Route
    intent: str
    confidence: float
    template: str
    reasons: tuple[str, ...] = ()
    reason: str = ""
    requested_by: str = ""
    agent: str = ""
    case_id: int | None = None
    priority: str = "normal"
    rules_matched: tuple[str, ...] = ()
    mood: dict[str, Any] = field(default_factory=dict)
    writes: tuple[ProposedWrite, ...] = ()

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["route"] = self.route.value
        raw["writes"] = [w.to_json() for w in self.writes]
        return raw


def decide(*, run: PipelineRun, turn: InboundTurn, findings: dict[str, dict[str, Any]]) -> Decision:
    """Route one message from the merged findings; the first reason that applies wins."""
    intent_found = findings.get("intent", {})
    intent = str(intent_found.get("intent") or OUT_OF_SCOPE)
    confidence = float(intent_found.get("confidence") or 0.0)
    out_of_scope = bool(intent_found.get("out_of_scope", "intent" not in findings))
    mood = context_read(
        actor=ROUTER,
        customer=turn.customer_id,
        partitions=ROUTER.scopes,
        purpose=f"route inbound message #{turn.message_id} by mood",
        correlation_id=f"message:{turn.message_id}",
    ).emotion
    signals = MessageSignals(
        intent=intent,
        confidence=confidence,
        sentiment=str(findings.get("sentiment", {}).get("label") or "neutral"),
        mood=mood.label if mood else "neutral",
        trend=mood.direction if mood else "steady",
    )
    ruled = _rules_apply(findings.get("rules", {}), signals=signals)
    base = Decision(
        route=Route.REPLY,
        template="",
        intent=intent,
        confidence=confidence,
        priority=ruled.priority,
        rules_matched=ruled.matched,
        case_id=ruled.case_id,
        writes=ruled.writes,
        mood={"label": signals.mood, "trend": signals.trend, "score": mood.score if mood else 0},
    )

    def hand_off(reason: str, requested_by: str) -> Decision:
        return replace(
            base,
            route=Route.HAND_OFF,
            template="handoff",
            reasons=(reason,),
            reason=reason,
            requested_by=requested_by,
        )

    if intent_found.get("asks_for_person") or intent == ASK_FOR_PERSON_INTENT:
        return hand_off("the customer asked for a person", "customer")
    if ruled.hand_off:
        return hand_off(ruled.hand_off, "agent:rules")
    if mood is not None and _angry(mood):
        return hand_off(
            f"the customer is upset (mood {mood.score:+.2f}, {mood.direction})", "agent:router"
        )
    if ruled.template:
        return replace(
            base, template=ruled.template, reasons=(f"rule chose template {ruled.template}",)
        )
    if out_of_scope:
        if _clarifications_in_a_row(run) < settings.ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF:
            return replace(
                base,
                route=Route.CLARIFY,
                template="clarify",
                reasons=(f"not understood (confidence {confidence:.2f}): asking to rephrase",),
            )
        return hand_off(f"not understood again (confidence {confidence:.2f})", "agent:router")
    route = IntentRoute.objects.filter(intent=intent, enabled=True).select_related("agent").first()
    if route is not None and route.target == IntentRoute.Target.HUMAN:
        return hand_off(f"intent {intent} is routed to people", "agent:router")
    if route is not None and route.target == IntentRoute.Target.AGENT and route.agent:
        return replace(
            base,
            template=route.template or intent,
            agent=route.agent.name,
            reasons=(f"intent {intent} is delegated to agent {route.agent.name}",),
        )
    template = (route.template if route is not None and route.template else "") or intent
    return replace(
        base,
        template=template,
        reasons=(f"intent {intent} ({confidence:.2f}) answered with template {template}",),
    )


@dataclass(frozen=True)
class _RulesOutcome:
    matched: tuple[str, ...] = ()
    hand_off: str = ""
    template: str = ""
    priority: str = "normal"
    case_id: int | None = None
    writes: tuple[ProposedWrite, ...] = ()


def _rules_apply(found: dict[str, Any], *, signals: MessageSignals) -> _RulesOutcome:
    """Finish the rules agent's candidates on what the other agents found, and turn the
    matching rules' actions into a decision and writes (naming the version the rules read)."""
    matched: list[str] = []
    hand_off = template = ""
    priority = "normal"
    case_id: int | None = None
    writes: list[ProposedWrite] = []
    version = found.get("read_version")
    for candidate in found.get("candidates", []):
        if not message_conditions_hold(candidate.get("pending", {}), signals=signals):
            continue
        matched.append(candidate["name"])
        case_id = case_id or candidate.get("case_id")
        for action in candidate["actions"]:
            kind = action["type"]
            if kind == "hand_off":
                hand_off = hand_off or action.get("reason") or f"rule {candidate['name']}"
            elif kind == "reply_template":
                template = template or action["template"]
            elif kind == "set_priority":
                priority = action["priority"]
            elif kind == "add_fact":
                writes.append(
                    ProposedWrite(
                        kind=WriteKind.FACT,
                        key=action["key"],
                        value=action["value"],
                        based_on_version=version,
                    )
                )
            elif kind == "add_tag":
                writes.append(
                    ProposedWrite(kind=WriteKind.TAG, key=action["tag"], based_on_version=version)
                )
            elif kind == "set_case_status" and candidate.get("case_id"):
                writes.append(
                    ProposedWrite(
                        kind=WriteKind.CASE_STATUS,
                        value=action["status"],
                        based_on_version=version,
                        detail={"case_id": candidate["case_id"]},
                    )
                )
        if candidate.get("stop_processing"):
            break
    return _RulesOutcome(
        matched=tuple(matched),
        hand_off=hand_off,
        template=template,
        priority=priority,
        case_id=case_id,
        writes=tuple(writes),
    )


def _angry(mood: EmotionView | None) -> bool:
    """An angry trend: negative over at least two readings, and falling or deeply negative.
    One sharp message is not a trend; a rule on `sentiment` can act on it alone."""
    return (
        mood is not None
        and len(mood.points) >= 2
        and mood.label == "negative"
        and (mood.direction == "worsening" or mood.score <= settings.ORCHESTRATOR_ANGRY_SCORE)
    )


def _clarifications_in_a_row(run: PipelineRun) -> int:
    """How many of the conversation's latest answers, just before this one, asked to rephrase."""
    limit = settings.ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF + 1
    earlier = (
        PipelineRun.objects.filter(conversation_id=run.conversation_id, pk__lt=run.pk)
        .exclude(status=PipelineRun.Status.RUNNING)
        .order_by("-pk")
        .values_list("decision", flat=True)[:limit]
    )
    count = 0
    for decision in earlier:
        if (decision or {}).get("route") != Route.CLARIFY:
            break
        count += 1
    return count


def reply_templates(*, channel: str) -> dict[str, str]:
    """The templates in force for a channel, by name and by intent: built in, overridden by
    the admin's for any channel, overridden by the admin's for this channel (one query)."""
    templates = dict(DEFAULT_TEMPLATES)
    rows = ReplyTemplate.objects.filter(enabled=True, channel__in=["", channel])
    for row in sorted(rows, key=lambda r: (r.channel != "", r.pk)):
        templates[row.name] = row.body
        if row.intent:
            templates[row.intent] = row.body
    return templates
