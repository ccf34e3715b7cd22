"""Agent Connect: an agent that lives outside Rapport, as an HTTP endpoint or an
OpenAI-compatible chat model. It gets the same scoped context pack as a built-in agent, and
its answer is recorded the same way; what it may write is limited like any other agent's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from memory.actors import Partition
from orchestrator.agents.base import (
    AgentFailed,
    AgentOutcome,
    InboundTurn,
    ProposedWrite,
    WriteKind,
)

if TYPE_CHECKING:
    from memory.context import ContextPack

# What an external agent may propose: facts and tags as an analyst, a reply as a responder.
ANALYST_WRITES = frozenset({WriteKind.FACT, WriteKind.TAG})
RESPONDER_WRITES = frozenset({WriteKind.REPLY})
CONTEXT_WORD_BUDGET = 300


def http_post_json(
    url: str, body: dict[str, Any], *, headers: dict[str, str], timeout: float
) -> dict[str, Any]:
    """POST JSON and read a JSON object back: the one place Rapport calls an external agent."""
    if not url.startswith(("http://", "https://")):
        raise AgentFailed(f"not an http(s) endpoint: {url!r}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise AgentFailed(f"{url}: {error}") from error
    if not isinstance(answer, dict):
        raise AgentFailed(f"{url}: expected a JSON object")
    return answer


def _writes_from(
    raw: Any, *, allowed: frozenset[WriteKind], version: int | None
) -> tuple[tuple[ProposedWrite, ...], list[str]]:
    """The writes an answer proposes that the agent may make; the others are named, not made."""
    kept: list[ProposedWrite] = []
    refused: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            kind = WriteKind(str(item.get("kind")))
        except (ValueError, AttributeError):
            refused.append(str(item)[:100])
            continue
        if kind not in allowed:
            refused.append(kind.value)
            continue
        kept.append(
            ProposedWrite(
                kind=kind,
                key=str(item.get("key", ""))[:100],
                value=str(item.get("value", ""))[:2000],
                confidence=float(item.get("confidence", 0.8)),
                based_on_version=version,
            )
        )
    return tuple(kept), refused


@dataclass(frozen=True)
class HttpAgent:
    """POSTs {agent, message, context, context_text}; expects {findings?, reply?, writes?}."""

    name: str
    endpoint: str
    reads: frozenset[Partition]
    responder: bool = False
    timeout_seconds: float = 5.0
    may_write: frozenset[WriteKind] = field(default=ANALYST_WRITES)

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        answer = http_post_json(
            self.endpoint,
            {
                "agent": self.name,
                "message": turn.to_json(),
                "context": pack.to_json(),
                "context_text": pack.render_text(word_budget=CONTEXT_WORD_BUDGET),
            },
            headers={},
            timeout=self.timeout_seconds,
        )
        return _outcome(answer, agent=self, pack=pack)


@dataclass(frozen=True)
class ChatModelAgent:
    """Asks an OpenAI-compatible chat endpoint (POST {LLM_BASE_URL}/chat/completions) to answer
    the customer from the scoped context alone; its answer becomes the reply."""

    name: str
    reads: frozenset[Partition]
    instructions: str = ""
    model: str = ""
    responder: bool = True
    timeout_seconds: float = 10.0
    may_write: frozenset[WriteKind] = field(default=RESPONDER_WRITES)

    def run(self, *, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
        if not settings.LLM_BASE_URL:
            raise AgentFailed("LLM_BASE_URL is not set")
        system = (
            (self.instructions or "You answer a contact center's customers briefly and kindly.")
            + " Use only the context below. Never state a fact that is not in it; when you do not"
            " know, say a member of the team will follow up.\n\nContext:\n"
            + pack.render_text(word_budget=CONTEXT_WORD_BUDGET)
        )
        answer = http_post_json(
            f"{settings.LLM_BASE_URL}/chat/completions",
            {
                "model": self.model or settings.LLM_MODEL,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": turn.text},
                ],
                "temperature": 0.2,
            },
            headers=(
                {"Authorization": f"Bearer {settings.LLM_API_KEY}"} if settings.LLM_API_KEY else {}
            ),
            timeout=self.timeout_seconds,
        )
        try:
            reply = str(answer["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError) as error:
            raise AgentFailed(
                f"{self.name}: no choices[0].message.content in the answer"
            ) from error
        return _outcome(
            {"reply": reply, "findings": {"model": answer.get("model", "")}}, agent=self, pack=pack
        )


def _outcome(
    answer: dict[str, Any], *, agent: HttpAgent | ChatModelAgent, pack: ContextPack
) -> AgentOutcome:
    given = answer.get("findings")
    findings: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
    writes, refused = _writes_from(
        answer.get("writes"),
        allowed=agent.may_write,
        version=pack.versions.get(Partition.BUSINESS.value),
    )
    reply = str(answer.get("reply") or "").strip()
    if reply and WriteKind.REPLY in agent.may_write:
        writes += (ProposedWrite(kind=WriteKind.REPLY, value=reply[:1600]),)
        findings = {**findings, "reply": reply[:1600]}
    if agent.responder and not reply:
        raise AgentFailed(f"{agent.name} answered without a reply")
    if refused:
        findings = {**findings, "refused_writes": refused}
    return AgentOutcome(findings=findings, writes=writes)
