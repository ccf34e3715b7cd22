"""Which agents exist (built in, registered here in code, or external, configured in the
admin) and how each is built for a run from its AgentConfig.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.conf import settings

from memory.actors import AgentActor, Partition
from memory.watch import actors_quarantined
from orchestrator.agents.connect import ANALYST_WRITES, RESPONDER_WRITES, ChatModelAgent, HttpAgent
from orchestrator.agents.entities import EntitiesAgent
from orchestrator.agents.intent import IntentAgent
from orchestrator.agents.responder import ResponderAgent
from orchestrator.agents.rules import RulesAgent, RuleSpec
from orchestrator.agents.sentiment import SentimentAgent
from orchestrator.intelligence.api import classify_intent, classify_sentiment, read_signals
from orchestrator.intelligence.escalation import escalation_read
from orchestrator.intelligence.values.changes import change_model
from orchestrator.intelligence.values.tagger import value_tagger
from orchestrator.models import AgentConfig, BusinessRule

if TYPE_CHECKING:
    from memory.models import ActorQuarantine
    from orchestrator.agents.base import Agent

# The built-in agents that read every message, in the order their results are merged.
BUILTIN_ANALYSTS: dict[str, Agent] = {
    agent.name: agent for agent in (IntentAgent(), SentimentAgent(), EntitiesAgent(), RulesAgent())
}
RESPONDER = ResponderAgent()
BUILTIN_AGENTS: dict[str, Agent] = {**BUILTIN_ANALYSTS, RESPONDER.name: RESPONDER}


_kept: ContextVar[dict[str, Any] | None] = ContextVar("rapport_agent_registry_kept", default=None)


@contextmanager
def configuration_kept() -> Iterator[None]:
    """Within the block (one message's pipeline, in this process), the agents' configuration
    and the business rules are read once, not by every step that needs them: one message is
    handled under one configuration, and saves the queries."""
    token = _kept.set({}) if _kept.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _kept.reset(token)


def agent_configs() -> dict[str, AgentConfig]:
    """Every configured agent by name (one query, or none inside `configuration_kept`)."""
    kept = _kept.get()
    if kept is not None and "configs" in kept:
        configs: dict[str, AgentConfig] = kept["configs"]
        return configs
    configs = {config.name: config for config in AgentConfig.objects.all()}
    if kept is not None:
        kept["configs"] = configs
    return configs


def agents_quarantined(labels: list[str]) -> dict[str, ActorQuarantine]:
    """Which of these actors are quarantined, by label (one query). Inside
    `configuration_kept`, a label an earlier call asked about is answered from that call:
    the plan asks about the analysts and the responder at once, and the responder's turn
    needs no query. The gate still judges every read when it is made, so an agent
    quarantined in between is refused there."""
    kept = _kept.get()
    known: dict[str, ActorQuarantine | None] = (
        kept.setdefault("quarantine", {}) if kept is not None else {}
    )
    missing = [label for label in labels if label not in known]
    if missing:
        found = actors_quarantined(actors=missing)
        known.update({label: found.get(label) for label in missing})
    return {label: q for label in labels if (q := known[label]) is not None}


def models_warm() -> None:
    """Load every model the built-in analysts use (a process's first message otherwise pays
    for it): each is read once per process and kept."""
    text = "Hi, where is my order? I want to speak to someone."
    classify_intent(text)
    classify_sentiment(text)
    read_signals(text)
    escalation_read(text)
    value_tagger()
    change_model()


def actor_for(agent: Agent, config: AgentConfig | None) -> AgentActor:
    """Who the agent is at the gate: its name, and the scope the admin grants it (its own
    `reads` when it has no configuration)."""
    scopes = agent.reads if config is None else Partition.parse(list(config.scopes))
    return AgentActor(name=agent.name, scopes=frozenset(scopes))


def timeout_for(agent: Agent, config: AgentConfig | None) -> float:
    if config is not None and config.timeout_seconds:
        return config.timeout_seconds
    return agent.timeout_seconds or settings.ORCHESTRATOR_AGENT_TIMEOUT_SECONDS


def external_agent(config: AgentConfig) -> Agent:
    """An Agent Connect agent from its configuration; it asks for everything its scope allows."""
    reads = Partition.parse(list(config.scopes))
    responder = config.role == AgentConfig.Role.RESPONDER
    writes = RESPONDER_WRITES if responder else ANALYST_WRITES
    timeout = config.timeout_seconds or settings.ORCHESTRATOR_AGENT_TIMEOUT_SECONDS
    if config.kind == AgentConfig.Kind.LLM:
        return ChatModelAgent(
            name=config.name,
            reads=reads,
            instructions=config.instructions,
            model=config.model,
            responder=responder,
            timeout_seconds=timeout,
            may_write=writes,
        )
    return HttpAgent(
        name=config.name,
        endpoint=config.endpoint,
        reads=reads,
        responder=responder,
        timeout_seconds=timeout,
        may_write=writes,
    )


def agent_build(name: str, config: AgentConfig | None) -> Agent:
    """The agent to run under `name`; the rules agent is given the enabled rules (one query)."""
    if config is not None and config.kind != AgentConfig.Kind.BUILTIN:
        return external_agent(config)
    agent = BUILTIN_AGENTS[name]
    if isinstance(agent, RulesAgent):
        return replace(agent, rules=rules_enabled())
    return agent


def rules_enabled() -> tuple[RuleSpec, ...]:
    """The enabled business rules, in order (one query, or none inside `configuration_kept`)."""
    kept = _kept.get()
    if kept is not None and "rules" in kept:
        rules: tuple[RuleSpec, ...] = kept["rules"]
        return rules
    rules = _rules_read()
    if kept is not None:
        kept["rules"] = rules
    return rules


def _rules_read() -> tuple[RuleSpec, ...]:
    return tuple(
        RuleSpec(
            rule_id=rule.pk,
            name=rule.name,
            priority=rule.priority,
            conditions=dict(rule.conditions or {}),
            actions=list(rule.actions or []),
            stop_processing=rule.stop_processing,
        )
        for rule in BusinessRule.objects.filter(enabled=True).order_by("priority", "pk")
    )
