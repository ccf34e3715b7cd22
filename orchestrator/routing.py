"""Routing: from what the agents found to who answers and how. A customer whose handoff no
person has released stays with people on every channel; then business rules, then the
standing reasons to bring a person in (asked for one or angry, as the escalation model reads
it; upset over several turns; not understood twice), then delegation by intent (IntentRoute:
the responder with a template, an external agent, people).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings

from memory.actors import AgentActor, Partition
from memory.selectors.gate import ContextReader
from memory.selectors.handoffs import channel_switch_into, customer_handoff_open
from orchestrator.agents.base import ProposedWrite, WriteKind
from orchestrator.agents.intent import clarify_template
from orchestrator.intelligence.api import OUT_OF_SCOPE
from orchestrator.intelligence.escalation import NEITHER, WANTS_PERSON
from orchestrator.models import IntentRoute, PipelineRun, ReplyTemplate
from orchestrator.replies import DEFAULT_TEMPLATES
from orchestrator.rules import MessageSignals, message_conditions_hold

if TYPE_CHECKING:
    from memory.context import EmotionView
    from memory.models import Handoff
    from orchestrator.agents.base import InboundTurn

# The router reads the mood after this message's reading is merged: the trend that decides.
ROUTER = AgentActor(name="router", scopes=frozenset({Partition.EMOTION}))
ASK_FOR_PERSON_INTENT = "speak_to_human"
# A bare "yes" (or a turn not understood) this early after a channel switch continues the
# topic the customer was in the middle of.
_CONFIRMATIONS = frozenset({"affirm"})
SWITCH_TURNS = 2
# How sure the escalation model must be that a message asks for no one to overrule a keyword.
SURE_NOT = 0.8


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
    carried_topic: str = ""

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["route"] = self.route.value
        raw["writes"] = [w.to_json() for w in self.writes]
        return raw


@dataclass(frozen=True)
class RouteFacts:
    """What routing knows of a message before it reads the customer's mood: the intent (or
    the topic carried over a channel switch), a handoff of the customer's still held on
    another conversation, and the intent's route. Known first so the responder, when nothing
    routing could do would change what it reads, reads its context beside the router's."""

    intent: str
    confidence: float
    out_of_scope: bool
    carried_topic: str = ""
    held: Handoff | None = None
    route: IntentRoute | None = None

    @property
    def delegated(self) -> bool:
        """The intent is answered by an external agent (if no earlier reason routes it)."""
        route = self.route
        return route is not None and route.target == IntentRoute.Target.AGENT and bool(route.agent)


def route_facts(
    *, run: PipelineRun, turn: InboundTurn, findings: dict[str, dict[str, Any]]
) -> RouteFacts:
    """The facts `decide` needs besides the mood (at most three queries)."""
    intent_found = findings.get("intent", {})
    intent = str(intent_found.get("intent") or OUT_OF_SCOPE)
    confidence = float(intent_found.get("confidence") or 0.0)
    out_of_scope = bool(intent_found.get("out_of_scope", "intent" not in findings))
    carried_topic = ""
    if out_of_scope or intent in _CONFIRMATIONS:
        carried_topic = _topic_carried_over(run)
        if carried_topic:
            # "Yes, it's about that": right after a switch, what they were in the middle of
            # on the other channel is what this turn is about, and its route answers it.
            intent, out_of_scope = carried_topic, False
    held = customer_handoff_open(
        customer_id=turn.customer_id, excluding_conversation_id=run.conversation_id
    )
    route = (
        IntentRoute.objects.filter(intent=intent, enabled=True).select_related("agent").first()
        if held is None
        else None
    )
    return RouteFacts(
        intent=intent,
        confidence=confidence,
        out_of_scope=out_of_scope,
        carried_topic=carried_topic,
        held=held,
        route=route,
    )


def router_reader(turn: InboundTurn) -> ContextReader:
    """The router's read: the mood after this message's reading is merged."""
    return ContextReader(
        actor=ROUTER,
        partitions=ROUTER.scopes,
        purpose=f"route inbound message #{turn.message_id} by mood",
    )


def rules_may_write(findings: dict[str, dict[str, Any]]) -> bool:
    """Whether a rule the rules agent matched may change the graph once routed (add a fact or
    a tag, move a case): then what the responder reads is only known after the rules' writes.
    """
    return any(
        action.get("type") in _RULE_WRITES
        for candidate in findings.get("rules", {}).get("candidates", [])
        for action in candidate.get("actions", [])
    )


_RULE_WRITES = frozenset({"add_fact", "add_tag", "set_case_status"})


def decide(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    findings: dict[str, dict[str, Any]],
    facts: RouteFacts,
    mood: EmotionView | None,
) -> Decision:
    """Route one message from the merged findings, the facts known before the mood, and the
    mood the router read; the first reason that applies wins."""
    intent_found = findings.get("intent", {})
    intent, confidence, out_of_scope = facts.intent, facts.confidence, facts.out_of_scope
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
        carried_topic=facts.carried_topic,
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

    held = facts.held
    if held is not None:
        # The handoff belongs to the customer: whichever channel they use, people answer.
        return replace(
            base,
            route=Route.WITH_PERSON,
            reasons=(
                f"the customer is with people (handoff #{held.pk} on {held.conversation.channel})"
                " until a person releases them",
            ),
            reason=f"still with people: handoff #{held.pk}",
            requested_by=f"handoff:{held.pk}",
        )
    escalation = findings.get("rules", {}).get("escalation") or {}
    # The intent agent's keyword match ("agent", "human") is overruled by the learned
    # reading when it is sure the customer is not asking for one ("my travel agent booked").
    learned_says_no = (
        escalation.get("label") == NEITHER and float(escalation.get("score") or 0) >= SURE_NOT
    )
    # The intent model files many out-of-domain requests ("find me a cab for one person")
    # under asking for a person, and the keyword hint is only a hint: either hands off when
    # the escalation model, trained for exactly this question, leans the same way too (or
    # could not be read). A handoff follows the customer to every channel, so a false one
    # costs the rest of their journey with automation.
    learned_leans_person = (
        not escalation or escalation.get("label") == WANTS_PERSON
    ) and not learned_says_no
    if (
        intent == ASK_FOR_PERSON_INTENT or intent_found.get("asks_for_person")
    ) and learned_leans_person:
        return hand_off("the customer asked for a person", "customer")
    if ruled.hand_off:
        return hand_off(ruled.hand_off, "agent:rules")
    if mood is not None and _angry(mood):
        return hand_off(
            f"the customer is upset (mood {mood.score:+.2f}, {mood.direction})", "agent:router"
        )
    route = facts.route
    to_people = route is not None and route.target == IntentRoute.Target.HUMAN
    if escalation.get("escalate") and not (to_people and not out_of_scope):
        # One message is enough: asking for a person in any words, or anger a bot would worsen.
        label, score = str(escalation.get("label")), float(escalation.get("score") or 0.0)
        if label == WANTS_PERSON:
            return hand_off(f"the customer asked for a person ({score:.2f})", "customer")
        return hand_off(f"the customer is angry enough to escalate ({score:.2f})", "agent:rules")
    if ruled.template:
        return replace(
            base, template=ruled.template, reasons=(f"rule chose template {ruled.template}",)
        )
    if out_of_scope:
        if _clarifications_in_a_row(run) < settings.ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF:
            return replace(
                base,
                route=Route.CLARIFY,
                template=clarify_template(intent_found),
                reasons=(f"not sure (confidence {confidence:.2f}): asking, not asserting",),
            )
        return hand_off(f"not understood again (confidence {confidence:.2f})", "agent:router")
    if to_people:
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


def _topic_carried_over(run: PipelineRun) -> str:
    """The intent the customer was in the middle of before switching to this conversation,
    for its first SWITCH_TURNS turns; "" otherwise."""
    switch = channel_switch_into(conversation_id=run.conversation_id)
    if switch is None or not switch.topic:
        return ""
    earlier = PipelineRun.objects.filter(conversation_id=run.conversation_id, pk__lt=run.pk)
    return switch.topic if earlier.count() < SWITCH_TURNS else ""


def _angry(mood: EmotionView | None) -> bool:
    """An angry trend: negative over at least two readings, and falling or deeply negative.
    One sharp message is not a trend; a rule on `sentiment` can act on it alone."""
    return (
        mood is not None
        and sum(point.label == "negative" for point in mood.points[-3:]) >= 2
        and mood.label == "negative"
        and (
            (mood.direction == "worsening" and mood.score <= settings.ORCHESTRATOR_UPSET_SCORE)
            or mood.score <= settings.ORCHESTRATOR_ANGRY_SCORE
        )
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
