"""Running agents on a message: each reads its scoped context through the gate under its own
name, then all run side by side within their timeouts; every one leaves an AgentRun."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from opentelemetry import trace

from memory.actors import Partition
from memory.models import Customer, Message
from memory.redaction import Redactor
from memory.selectors import ContextAccessRefused
from memory.selectors.gate import ContextReader, contexts_read
from orchestrator.agents.base import AgentFailed, AgentOutcome, InboundTurn
from orchestrator.agents.registry import (
    actor_for,
    agent_build,
    agent_configs,
    timeout_for,
)
from orchestrator.models import AgentConfig, AgentRun, PipelineRun
from orchestrator.pipeline.values import AgentResult, elapsed_ms

if TYPE_CHECKING:
    from memory.context import ContextPack
    from orchestrator.agents.base import Agent


logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("rapport.orchestrator.pipeline")

# Agents' `run` happens here so one that overruns its timeout can be abandoned, not awaited.
_agent_threads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="agent")

# Agents ---------------------------------------------------------------------------------------


@dataclass
class AgentStarted:
    """An agent run under way: begun, its context read (or refused), then running."""

    name: str
    agent: Agent
    config: AgentConfig | None
    began: float
    began_at: Any
    pack: ContextPack | None = None
    refused: str = ""
    future: Future[AgentOutcome] | None = None
    span: trace.Span | None = None


def agents_run(
    *, run_id: int, names: tuple[str, ...] | list[str], run: PipelineRun | None = None
) -> list[AgentResult]:
    """Run the named agents on the run's message: one context pack is read through the gate
    for all of them (each handed its own partitions, each read audited under its own name),
    then all run side by side, each within its timeout; every one leaves an AgentRun.
    `run` when the caller has just read it with its message and customer (`run_read`)."""
    if run is None:
        run = run_read(run_id=run_id)
    turn = inbound_turn(run.inbound_message)
    configs = agent_configs()
    started = agents_start(
        run=run,
        turn=turn,
        agents=[(name, agent_build(name, configs.get(name)), configs.get(name)) for name in names],
        purpose=f"read inbound {turn.channel} message",
        customer=run.inbound_message.customer,
    )
    return agents_finish(run=run, started=started)


def run_read(*, run_id: int) -> PipelineRun:
    """A pipeline run with its message, the message's customer and conversation (one query):
    what the agents and the finish work on."""
    return PipelineRun.objects.select_related(
        "inbound_message__customer", "inbound_message__conversation"
    ).get(pk=run_id)


def agent_start(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    name: str,
    agent: Agent,
    config: AgentConfig | None,
    purpose: str,
) -> AgentStarted:
    """One agent's read and start (the responder, an external agent the intent routes to)."""
    (started,) = agents_start(run=run, turn=turn, agents=[(name, agent, config)], purpose=purpose)
    return started


def agents_start(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    agents: list[tuple[str, Agent, AgentConfig | None]],
    purpose: str,
    customer: Customer | None = None,
) -> list[AgentStarted]:
    """Read the agents' context in one shared pack, then start each that was granted its read
    on the agent threads. `customer` when the message's customer row was just read with it."""
    begun = [agent_begin(run=run, turn=turn, name=n, agent=a, config=c) for n, a, c in agents]
    if begun:
        packs = reads_together(
            turn=turn,
            readers=[agent_reader(item, turn=turn, purpose=purpose) for item in begun],
            begun=begun,
            customer=customer,
        )
        agents_submit(turn=turn, begun=begun, packs=packs)
    return begun


def agent_begin(
    *, run: PipelineRun, turn: InboundTurn, name: str, agent: Agent, config: AgentConfig | None
) -> AgentStarted:
    """An agent's run begun: its clock and its span (ended in agents_finish; the gate's read
    is its child), before its context is read."""
    return AgentStarted(
        name=name,
        agent=agent,
        config=config,
        began=time.perf_counter(),
        began_at=timezone.now(),
        span=_tracer.start_span(
            "rapport.agent_run",
            attributes={
                "rapport.agent": name,
                "rapport.pipeline_run_id": run.pk,
                "rapport.customer_id": turn.customer_id,
                "rapport.correlation_id": f"message:{turn.message_id}",
            },
        ),
    )


def agent_reader(item: AgentStarted, *, turn: InboundTurn, purpose: str) -> ContextReader:
    """What a begun agent asks the gate for, under its own name and the scope it is granted."""
    return ContextReader(
        actor=actor_for(item.agent, item.config),
        partitions=item.agent.reads,
        purpose=f"{purpose} #{turn.message_id}",
        span=item.span,
    )


def reads_together(
    *,
    turn: InboundTurn,
    readers: list[ContextReader],
    begun: list[AgentStarted],
    customer: Customer | None = None,
) -> list[ContextPack | ContextAccessRefused]:
    """One gate read of the message's customer for several readers of the same message (the
    analysts; the router and the responder): each read audited under its reader's name. The
    begun agents' spans are ended if the read itself fails."""
    try:
        return contexts_read(
            readers=readers,
            customer=customer if customer is not None else turn.customer_id,
            correlation_id=f"message:{turn.message_id}",
        )
    except Exception:
        for item in begun:
            if item.span is not None:
                item.span.end()
        raise


def agents_submit(
    *,
    turn: InboundTurn,
    begun: list[AgentStarted],
    packs: list[ContextPack | ContextAccessRefused],
) -> None:
    """Start each begun agent that was granted its read on the agent threads, with the
    message masked for an agent that may not see contact details; note each refusal."""
    masked: InboundTurn | None = None
    for item, pack in zip(begun, packs, strict=True):
        if isinstance(pack, ContextAccessRefused):
            item.refused = str(pack)
            continue
        item.pack = pack
        given = turn
        if Partition.PII not in pack.partitions:
            # The message itself is context too: without `pii` its contact details come masked.
            if masked is None:
                redactor = Redactor()
                masked = replace(
                    turn, text=redactor.text(turn.text), sign_off=redactor.text(turn.sign_off)
                )
            given = masked
        item.future = _agent_threads.submit(_agent_call, item.agent, pack, given)


def _agent_call(agent: Agent, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
    return agent.run(pack=pack, turn=turn)


def agents_finish(*, run: PipelineRun, started: list[AgentStarted]) -> list[AgentResult]:
    results: list[AgentResult] = []
    rows: list[AgentRun] = []
    for item in started:
        status, outcome, error = AgentRun.Status.OK, AgentOutcome(), ""
        if item.future is None:
            status, error = AgentRun.Status.REFUSED, item.refused
        else:
            remaining = timeout_for(item.agent, item.config) - (time.perf_counter() - item.began)
            try:
                outcome = item.future.result(timeout=max(remaining, 0.01))
            except FutureTimeout:
                status, error = AgentRun.Status.TIMED_OUT, "no answer within the timeout"
            except AgentFailed as failed:
                status, error = AgentRun.Status.FAILED, str(failed)
            except Exception as crash:
                logger.exception("agent %s crashed on run #%s", item.name, run.pk)
                status, error = AgentRun.Status.FAILED, f"{type(crash).__name__}: {crash}"
        latency = elapsed_ms(item.began)
        if item.span is not None:
            item.span.set_attribute("rapport.status", status)
            item.span.set_attribute("rapport.latency_ms", latency)
            item.span.end()
        rows.append(
            AgentRun(
                pipeline_run=run,
                agent_name=item.name,
                kind=item.config.kind if item.config else AgentConfig.Kind.BUILTIN,
                attempt=run.attempts,
                partitions=sorted(p.value for p in item.agent.reads),
                read_versions=item.pack.versions if item.pack else {},
                status=status,
                output=outcome.to_json(),
                error=error[:2000],
                latency_ms=latency,
                started_at=item.began_at,
            )
        )
        results.append(
            AgentResult(
                agent=item.name,
                status=status,
                outcome=outcome,
                may_write=tuple(sorted(w.value for w in item.agent.may_write)),
            )
        )
    # Not audited rows, so one insert; a redelivered chord task finds its rows already there.
    AgentRun.objects.bulk_create(rows, ignore_conflicts=True)
    return results


def inbound_turn(message: Message) -> InboundTurn:
    return InboundTurn(
        message_id=message.pk,
        customer_id=message.customer_id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        text=message.text,
        sent_at=message.sent_at,
        sign_off=str(message.channel_metadata.get("sign_off", "")),
    )
