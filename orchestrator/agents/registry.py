"""Which agents exist (built in, registered here in code, or external, configured in the
admin) and how each is built for a run from its AgentConfig.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from django.conf import settings

from memory.actors import AgentActor, Partition
from orchestrator.agents.connect import ANALYST_WRITES, RESPONDER_WRITES, ChatModelAgent, HttpAgent
from orchestrator.agents.entities import EntitiesAgent
from orchestrator.agents.intent import IntentAgent
from orchestrator.agents.responder import ResponderAgent
from orchestrator.agents.rules import RulesAgent, RuleSpec
from orchestrator.agents.sentiment import SentimentAgent
from orchestrator.models import AgentConfig, BusinessRule

if TYPE_CHECKING:
    from orchestrator.agents.base import Agent

# The built-in agents that read every message, in the order their results are merged.
BUILTIN_ANALYSTS: dict[str, Agent] = {
    agent.name: agent for agent in (IntentAgent(), SentimentAgent(), EntitiesAgent(), RulesAgent())
}
RESPONDER = ResponderAgent()
BUILTIN_AGENTS: dict[str, Agent] = {**BUILTIN_ANALYSTS, RESPONDER.name: RESPONDER}


def agent_configs() -> dict[str, AgentConfig]:
    """Every configured agent by name (one query)."""
    return {config.name: config for config in AgentConfig.objects.all()}


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
