"""The rules agent: checks the business's rules against what the context answers (facts,
cases, channel, time of day), in parallel with the other agents; the merge finishes the
conditions on what they find (intent, confidence, sentiment, mood) and takes the actions.
It also reads the message for the standing rule every business has: a customer who asks for
a person, or is angry enough to need one, gets one (a learned reading, see `escalation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, WriteKind
from orchestrator.intelligence.api import read_signals
from orchestrator.intelligence.escalation import escalation_read
from orchestrator.intelligence.signals import signal_conditions_hold
from orchestrator.rules import MESSAGE_CONDITIONS, context_conditions_hold, matching_case

if TYPE_CHECKING:
    from memory.context import ContextPack


@dataclass(frozen=True)
class RuleSpec:
    """A BusinessRule row as plain values, so the agent never touches the database."""

    rule_id: int
    name: str
    priority: int
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    stop_processing: bool


@dataclass(frozen=True)
class RulesAgent:
    rules: tuple[RuleSpec, ...] = ()
    name: str = "rules"
    reads: frozenset[Partition] = field(default_factory=lambda: frozenset({Partition.BUSINESS}))
    may_write: frozenset[WriteKind] = frozenset(
        {
            WriteKind.FACT,
            WriteKind.TAG,
            WriteKind.CASE_STATUS,
            WriteKind.PRIORITY,
            WriteKind.HANDOFF,
            WriteKind.REPLY,
        }
    )
    timeout_seconds: float = 1.0

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        candidates = [
            {
                "rule_id": rule.rule_id,
                "name": rule.name,
                "priority": rule.priority,
                "stop_processing": rule.stop_processing,
                "pending": {k: v for k, v in rule.conditions.items() if k in MESSAGE_CONDITIONS},
                "actions": rule.actions,
                "case_id": _case_for(rule, pack),
            }
            for rule in sorted(self.rules, key=lambda r: (r.priority, r.rule_id))
            if context_conditions_hold(
                rule.conditions, pack=pack, channel=turn.channel, at=turn.sent_at
            )
            and signal_conditions_hold(
                rule.conditions, pack=pack, reading=lambda: read_signals(turn.text)
            )
        ]
        return AgentOutcome(
            findings={
                "checked": len(self.rules),
                "candidates": candidates,
                "read_version": pack.versions.get(Partition.BUSINESS.value),
                "escalation": escalation_read(turn.text).to_json() if turn.text.strip() else {},
            }
        )


def _case_for(rule: RuleSpec, pack: ContextPack) -> int | None:
    """The open case a rule's case actions apply to: the one its condition names, else the
    newest open case of the kind its actions name (any kind if they name none)."""
    if "case_status" in rule.conditions:
        return matching_case(rule.conditions, pack)
    kinds = {a["case_kind"] for a in rule.actions if a.get("case_kind")}
    return next((c.case_id for c in pack.open_cases if not kinds or c.kind in kinds), None)
