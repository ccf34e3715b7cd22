"""The responder: writes the reply from a template, filled only from the context pack it was
given, so it never states a fact it was not allowed to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory.actors import Partition
from orchestrator.agents.base import AgentOutcome, InboundTurn, ProposedWrite, WriteKind
from orchestrator.replies import TemplateUnusable, context_values, template_fill

if TYPE_CHECKING:
    from memory.context import ContextPack

FALLBACK_TEMPLATE = "acknowledge"


@dataclass(frozen=True)
class ResponderAgent:
    """Fills `template` (a name in `templates`), or the plain acknowledgement if it cannot."""

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
        values = context_values(pack, case_id=self.case_id)
        chosen = self.template if self.template in self.templates else FALLBACK_TEMPLATE
        try:
            filled = template_fill(self.templates[chosen], values=values, name=chosen)
        except TemplateUnusable as unusable:
            filled = template_fill(
                self.templates[FALLBACK_TEMPLATE], values=values, name=FALLBACK_TEMPLATE
            )
            chosen = f"{FALLBACK_TEMPLATE} ({unusable})"
        return AgentOutcome(
            findings={"reply": filled.text, "template": chosen, "stated": list(filled.stated)},
            writes=(ProposedWrite(kind=WriteKind.REPLY, value=filled.text),),
        )
