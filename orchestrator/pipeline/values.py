"""What the pipeline hands back and forth: a plan, an agent's result, the reply, a voice reply."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from orchestrator.agents.base import AgentOutcome

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What the orchestrator answered to one inbound message."""

    message_id: int | None
    text: str
    hand_off: bool
    run_id: int = 0


@dataclass(frozen=True)
class VoiceReply:
    """What to say on the call now; `pending` when the answer was not ready by the deadline."""

    text: str
    hand_off: bool = False
    pending: bool = False


@dataclass(frozen=True)
class Plan:
    """Which agents read this message, on which path."""

    run_id: int
    path: str
    analysts: tuple[str, ...]


@dataclass(frozen=True)
class AgentResult:
    """One agent's answer as it crosses a Celery chord: JSON both ways."""

    agent: str
    status: str
    outcome: AgentOutcome = field(default_factory=AgentOutcome)
    may_write: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "status": self.status,
            "outcome": self.outcome.to_json(),
            "may_write": list(self.may_write),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AgentResult:
        return cls(
            agent=raw["agent"],
            status=raw["status"],
            outcome=AgentOutcome.from_json(raw.get("outcome") or {}),
            may_write=tuple(raw.get("may_write") or ()),
        )


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def ms_since(moment: dt.datetime) -> float:
    return round(max(0.0, (timezone.now() - moment).total_seconds() * 1000), 2)
