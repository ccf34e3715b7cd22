"""The small protocol every agent speaks: what it may read, what it may write, how it runs.

An agent gets a context pack from the gate (already limited to its scope) and the message it
is working on, and returns an outcome: findings for the merge and the writes it proposes.
Agents never touch the graph themselves; the merge applies their writes through services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from memory.actors import Partition

if TYPE_CHECKING:
    from memory.context import ContextPack


class WriteKind(StrEnum):
    """What an agent may ask the merge to change."""

    FACT = "fact"
    CASE_OPEN = "case_open"
    CASE_STATUS = "case_status"
    IDENTITY = "identity"
    SENTIMENT = "sentiment"
    TAG = "tag"
    PRIORITY = "priority"
    HANDOFF = "handoff"
    REPLY = "reply"
    LINK = "link"
    PROFILE = "profile"
    GIST = "gist"
    SIGNAL = "signal"


@dataclass(frozen=True)
class InboundTurn:
    """The message an agent is working on, as plain values."""

    message_id: int
    customer_id: int
    conversation_id: int
    channel: str
    text: str
    sent_at: dt.datetime
    # An e-mail's sign-off (name, title, phone), cut from `text` but telling who wrote it.
    sign_off: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "sent_at": self.sent_at.isoformat()}


@dataclass(frozen=True)
class ProposedWrite:
    """One change an agent asks for, naming the business version it decided on."""

    kind: WriteKind
    key: str = ""
    value: str = ""
    case_reference: str = ""
    confidence: float = 1.0
    based_on_version: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ProposedWrite:
        return cls(**{**raw, "kind": WriteKind(raw["kind"])})


@dataclass(frozen=True)
class AgentOutcome:
    """What one agent run found (`findings`, JSON-ready) and the writes it proposes."""

    findings: dict[str, Any] = field(default_factory=dict)
    writes: tuple[ProposedWrite, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"findings": self.findings, "writes": [w.to_json() for w in self.writes]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AgentOutcome:
        return cls(
            findings=dict(raw.get("findings") or {}),
            writes=tuple(ProposedWrite.from_json(w) for w in raw.get("writes") or ()),
        )


class Agent(Protocol):
    """An agent: what it asks the gate for (`reads`), what it may write, how long it may take.

    `reads` is what the agent asks for; what it is granted is its scope in the admin's
    AgentConfig (by default `reads`), so narrowing a scope there makes the gate refuse it.
    `run` must not touch the database: it may run in a thread that is abandoned on timeout.
    """

    @property
    def name(self) -> str: ...

    @property
    def reads(self) -> frozenset[Partition]: ...

    @property
    def may_write(self) -> frozenset[WriteKind]: ...

    @property
    def timeout_seconds(self) -> float: ...

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome: ...


class AgentFailed(RuntimeError):
    """An agent could not produce an outcome (bad answer from an external endpoint, ...)."""
