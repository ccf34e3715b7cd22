"""The orchestrator's pipeline for one inbound message: plan, run the agents (each reading
its context through the gate, under its own name and scope), merge, route, reply.

Two paths share every step. The fast path (voice turns, tight SLAs) runs the agents in this
process in one pass; the full path fans them out as a Celery chord (see `tasks`). Both record
one PipelineRun per message, claimed by a unique constraint, and an AgentRun per agent.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from opentelemetry import trace

from channels_app.console.services import conversation_waiting_notify, reply_draft_store
from channels_app.outbound import send
from channels_app.publisher import SUPERVISORS, conversation_group, customer_group, publish
from memory.actors import AgentActor, Partition
from memory.models import Channel, Conversation, Message
from memory.redaction import Redactor
from memory.selectors import ContextAccessRefused, context_read
from memory.services import conversation_hand_off
from orchestrator.agents.base import AgentFailed, AgentOutcome, InboundTurn, WriteKind
from orchestrator.agents.registry import (
    BUILTIN_ANALYSTS,
    RESPONDER,
    actor_for,
    agent_build,
    agent_configs,
    timeout_for,
)
from orchestrator.agents.rules import RulesAgent
from orchestrator.handover import channel_switch_carry
from orchestrator.merge import AgentWrites, writes_apply
from orchestrator.models import AgentConfig, AgentRun, PipelineRun
from orchestrator.routing import Decision, Route, decide, reply_templates

if TYPE_CHECKING:
    from memory.context import ContextPack
    from orchestrator.agents.base import Agent

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("rapport.orchestrator.pipeline")

VOICE_GREETER = AgentActor(
    name="voice-greeter", scopes=frozenset({Partition.PROFILE, Partition.BUSINESS})
)

# Agents' `run` happens here so one that overruns its timeout can be abandoned, not awaited.
_agent_threads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="agent")
# Voice turns run here so a slow answer can be abandoned at the deadline and picked up later.
_voice_workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="voice-turn")


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


# Plan -----------------------------------------------------------------------------------------


def message_plan(*, message_id: int) -> Plan | None:
    """Claim the message's PipelineRun and decide which agents read it, on which path.

    None when there is nothing (more) to do: not an inbound message, or already answered. A
    run left unfinished (a worker died) is taken up again as its next attempt.
    """
    started = time.perf_counter()
    inbound = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if inbound is None or inbound.direction != Message.Direction.INBOUND:
        return None
    sla = settings.ORCHESTRATOR_SLA_SECONDS.get(inbound.channel, 60)
    path = (
        PipelineRun.Path.FAST
        if sla <= settings.ORCHESTRATOR_FAST_PATH_SLA_SECONDS
        else PipelineRun.Path.FULL
    )
    with transaction.atomic():
        run, created = PipelineRun.objects.get_or_create(
            inbound_message=inbound,
            defaults={
                "conversation_id": inbound.conversation_id,
                "customer_id": inbound.customer_id,
                "channel": inbound.channel,
                "path": path,
            },
        )
        if not created:
            run = PipelineRun.objects.select_for_update().get(pk=run.pk)
            if run.is_final:
                return None
            run.attempts += 1
            run.save(update_fields=["attempts"])
            return Plan(run_id=run.pk, path=run.path, analysts=tuple(run.plan.get("agents", ())))
        switch = channel_switch_carry(inbound=inbound)
        analysts, skipped = _analysts_for(path)
        run.plan = {
            "path": path,
            "sla_seconds": sla,
            "agents": list(analysts),
            "skipped": skipped,
            "channel_switch": _switch_json(switch),
        }
        run.timings = {"queued": _ms_since(inbound.created_at), "plan": _ms(started)}
        run.save(update_fields=["plan", "timings"])
        publish(
            "message.received",
            {
                "conversation_id": inbound.conversation_id,
                "customer_id": inbound.customer_id,
                "message_id": inbound.pk,
                "channel": inbound.channel,
                "path": path,
                "channel_switch": run.plan["channel_switch"],
            },
            groups=_groups(inbound.conversation_id, inbound.customer_id),
        )
    return Plan(run_id=run.pk, path=path, analysts=analysts)


def _analysts_for(path: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The analysts to run (built in, then external ones on the full path) and who was left
    out and why."""
    configs = agent_configs()
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    external = [
        c
        for c in configs.values()
        if c.kind != AgentConfig.Kind.BUILTIN and c.role == AgentConfig.Role.ANALYST
    ]
    for name in [*BUILTIN_ANALYSTS, *(c.name for c in external)]:
        config = configs.get(name)
        if config is not None and config.quarantined:
            skipped[name] = f"quarantined: {config.quarantine_reason}"
        elif config is not None and not config.enabled:
            skipped[name] = "disabled"
        elif name not in BUILTIN_ANALYSTS and path == PipelineRun.Path.FAST:
            skipped[name] = "external agents run on the full path only"
        else:
            chosen.append(name)
    return tuple(chosen), skipped


def _switch_json(switch: Any) -> dict[str, Any] | None:
    if switch is None:
        return None
    return {
        "from_conversation": switch.from_conversation_id,
        "from_channel": switch.from_conversation.channel,
        "carried_case_ids": switch.carried_case_ids,
        "latency_ms": switch.latency_ms,
    }


# Agents ---------------------------------------------------------------------------------------


@dataclass
class _Started:
    name: str
    agent: Agent
    config: AgentConfig | None
    began: float
    began_at: Any
    pack: ContextPack | None = None
    refused: str = ""
    future: Future[AgentOutcome] | None = None
    span: trace.Span | None = None


def agents_run(*, run_id: int, names: tuple[str, ...] | list[str]) -> list[AgentResult]:
    """Run the named agents on the run's message: each reads through the gate here, then all
    run side by side, each within its timeout; every one leaves an AgentRun."""
    run = PipelineRun.objects.select_related("inbound_message").get(pk=run_id)
    turn = _turn(run.inbound_message)
    configs = agent_configs()
    started = [
        _agent_start(
            run=run,
            turn=turn,
            name=name,
            agent=agent_build(name, configs.get(name)),
            config=configs.get(name),
            purpose=f"read inbound {turn.channel} message",
        )
        for name in names
    ]
    return _agents_finish(run=run, started=started)


def _agent_start(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    name: str,
    agent: Agent,
    config: AgentConfig | None,
    purpose: str,
) -> _Started:
    started = _Started(
        name=name, agent=agent, config=config, began=time.perf_counter(), began_at=timezone.now()
    )
    # One span per agent run, ended in _agents_finish; the gate's read is its child.
    started.span = _tracer.start_span(
        "rapport.agent_run",
        attributes={
            "rapport.agent": name,
            "rapport.pipeline_run_id": run.pk,
            "rapport.customer_id": turn.customer_id,
            "rapport.correlation_id": f"message:{turn.message_id}",
        },
    )
    try:
        with trace.use_span(started.span, end_on_exit=False):
            started.pack = context_read(
                actor=actor_for(agent, config),
                customer=turn.customer_id,
                partitions=agent.reads,
                purpose=f"{purpose} #{turn.message_id}",
                correlation_id=f"message:{turn.message_id}",
            )
    except ContextAccessRefused as refused:
        started.refused = str(refused)
        return started
    if Partition.PII not in started.pack.partitions:
        # The message itself is context too: without `pii` its contact details come masked.
        redactor = Redactor()
        turn = replace(turn, text=redactor.text(turn.text), sign_off=redactor.text(turn.sign_off))
    started.future = _agent_threads.submit(_agent_call, agent, started.pack, turn)
    return started


def _agent_call(agent: Agent, pack: ContextPack, turn: InboundTurn) -> AgentOutcome:
    return agent.run(pack=pack, turn=turn)


def _agents_finish(*, run: PipelineRun, started: list[_Started]) -> list[AgentResult]:
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
        latency = _ms(item.began)
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


def _turn(message: Message) -> InboundTurn:
    return InboundTurn(
        message_id=message.pk,
        customer_id=message.customer_id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        text=message.text,
        sent_at=message.sent_at,
        sign_off=str(message.channel_metadata.get("sign_off", "")),
    )


# Merge, route, reply, deliver -------------------------------------------------------------------


def pipeline_finish(*, run_id: int, results: list[AgentResult]) -> Reply | None:
    """Merge the agents' results, let the rules and routes decide, reply, deliver (once).

    A failure is noted on the run (for the trace) and raised, so the task may retry.
    """
    try:
        return _finish(run_id=run_id, results=results)
    except Exception as error:
        pipeline_fail(run_id=run_id, error=f"{type(error).__name__}: {error}")
        raise


def _finish(*, run_id: int, results: list[AgentResult]) -> Reply | None:
    began = time.perf_counter()
    run = PipelineRun.objects.select_related(
        "inbound_message__customer", "inbound_message__conversation"
    ).get(pk=run_id)
    if run.is_final:
        return None
    inbound = run.inbound_message
    turn = _turn(inbound)
    timings = dict(run.timings)
    timings["agents"] = max(
        0.0, _ms_since(run.started_at) - timings.get("plan", 0.0) - timings.get("queued", 0.0)
    )
    ok = [r for r in results if r.status == AgentRun.Status.OK]
    findings = {r.agent: r.outcome.findings for r in ok}
    merged = writes_apply(
        message=inbound,
        proposals=[AgentWrites(agent=r.agent, writes=r.outcome.writes) for r in ok],
        may_write={r.agent: frozenset(WriteKind(w) for w in r.may_write) for r in ok},
    )
    timings["merge"] = _ms(began)
    # Evidence in the turn may have shown the sender to be a known customer: answer as them.
    turn = _turn(inbound)

    step = time.perf_counter()
    decision = decide(run=run, turn=turn, findings=findings)
    # A reply is about the case this message names, unless a rule chose one.
    named = [a["case_id"] for a in merged.applied if a["kind"] == WriteKind.CASE_OPEN.value]
    if named and decision.case_id is None:
        decision = replace(decision, case_id=named[0])
    rule_writes = writes_apply(
        message=inbound,
        proposals=[AgentWrites(agent="rules", writes=decision.writes)],
        may_write={"rules": RulesAgent().may_write},
    )
    timings["route"] = _ms(step)

    step = time.perf_counter()
    text, author = ("", "")
    if decision.route != Route.WITH_PERSON:
        text, author = _reply_text(run=run, turn=turn, decision=decision)
        if not text and decision.route != Route.HAND_OFF:
            reason = "no agent could answer (see the agent runs)"
            decision = replace(
                decision,
                route=Route.HAND_OFF,
                reason=reason,
                reasons=(*decision.reasons, reason),
                requested_by="agent:router",
            )
    timings["respond"] = _ms(step)
    merge_record = {
        "findings": findings,
        "failed": {r.agent: r.status for r in results if r.status != AgentRun.Status.OK},
        **merged.to_json(),
        "rule_writes": rule_writes.to_json(),
    }
    return _deliver(
        run_id=run.pk,
        decision=decision,
        text=text,
        author_agent=author,
        merge_record=merge_record,
        timings=timings,
    )


def _reply_text(*, run: PipelineRun, turn: InboundTurn, decision: Decision) -> tuple[str, str]:
    """The reply: from the external agent the intent is routed to, else from the responder.
    Either reads its own scoped context through the gate and leaves an AgentRun."""
    configs = agent_configs()
    if decision.agent:
        config = configs.get(decision.agent)
        if config is not None and config.runnable:
            agent = agent_build(config.name, config)
            started = _agent_start(
                run=run,
                turn=turn,
                name=config.name,
                agent=agent,
                config=config,
                purpose="answer inbound message",
            )
            (result,) = _agents_finish(run=run, started=[started])
            reply = str(result.outcome.findings.get("reply", ""))
            if result.status == AgentRun.Status.OK and reply:
                return reply, config.name
    config = configs.get(RESPONDER.name)
    if config is not None and not config.runnable:
        return "", ""
    responder = replace(
        RESPONDER,
        templates=reply_templates(channel=turn.channel),
        template=decision.template,
        case_id=decision.case_id,
    )
    started = _agent_start(
        run=run,
        turn=turn,
        name=RESPONDER.name,
        agent=responder,
        config=config,
        purpose="answer inbound message",
    )
    (result,) = _agents_finish(run=run, started=[started])
    return str(result.outcome.findings.get("reply", "")), RESPONDER.name


def _deliver(
    *,
    run_id: int,
    decision: Decision,
    text: str,
    author_agent: str,
    merge_record: dict[str, Any],
    timings: dict[str, float],
) -> Reply | None:
    """Send the reply and hand off, at most once: the run's row lock and final status decide,
    so a second run of the same message (a redelivered task) sends nothing."""
    step = time.perf_counter()
    with transaction.atomic():
        run = (
            PipelineRun.objects.select_for_update().select_related("inbound_message").get(pk=run_id)
        )
        if run.is_final:
            return None
        conversation = Conversation.objects.select_for_update(no_key=True).get(
            pk=run.conversation_id
        )
        route = decision.route
        if not conversation.automation_may_reply:
            route = Route.WITH_PERSON
        reply = draft = None
        if route != Route.WITH_PERSON and text:
            # In approval mode a person approves each reply; a call cannot wait for one.
            if (
                conversation.mode == Conversation.Mode.APPROVAL
                and conversation.channel != Channel.VOICE
            ):
                draft = reply_draft_store(
                    conversation=conversation,
                    inbound=run.inbound_message,
                    text=text,
                    author_agent=author_agent,
                )
            else:
                reply = send(
                    conversation=conversation,
                    text=text,
                    author_agent=author_agent,
                    in_reply_to=run.inbound_message,
                )
        handoff = None
        if route == Route.HAND_OFF:
            handoff = conversation_hand_off(
                conversation=conversation,
                reason=decision.reason,
                requested_by=decision.requested_by,
                trigger_message=run.inbound_message,
            )
        if route in (Route.HAND_OFF, Route.WITH_PERSON):
            conversation_waiting_notify(
                conversation_id=conversation.pk,
                waiting_since=handoff.created_at if handoff else run.inbound_message.sent_at,
            )
        run.status = {
            Route.WITH_PERSON: PipelineRun.Status.WITH_PERSON,
            Route.HAND_OFF: PipelineRun.Status.HANDED_OFF,
        }.get(route, PipelineRun.Status.WITH_PERSON if draft else PipelineRun.Status.REPLIED)
        run.reply_message = reply
        run.handed_off = handoff is not None
        run.priority = decision.priority
        run.merge = merge_record
        run.decision = {
            **decision.to_json(),
            "route": route.value,
            **({"draft_id": draft.pk} if draft else {}),
        }
        run.finished_at = timezone.now()
        run.timings = {**timings, "deliver": _ms(step)}
        run.total_ms = round((run.finished_at - run.started_at).total_seconds() * 1000, 2)
        run.error = ""
        run.save(
            update_fields=[
                "status",
                "reply_message",
                "handed_off",
                "priority",
                "merge",
                "decision",
                "finished_at",
                "timings",
                "total_ms",
                "error",
            ]
        )
        _publish_outcome(run=run, reply=reply, handoff_id=handoff.pk if handoff else None)
    return Reply(
        message_id=reply.pk if reply else None,
        text=reply.text if reply else "",
        hand_off=handoff is not None,
        run_id=run.pk,
    )


def _publish_outcome(*, run: PipelineRun, reply: Message | None, handoff_id: int | None) -> None:
    groups = _groups(run.conversation_id, run.customer_id)
    publish(
        "pipeline.done",
        {
            "conversation_id": run.conversation_id,
            "message_id": run.inbound_message_id,
            "run_id": run.pk,
            "status": run.status,
            "route": run.decision.get("route"),
            "reasons": run.decision.get("reasons", []),
            "intent": run.decision.get("intent"),
            "priority": run.priority,
            "total_ms": run.total_ms,
        },
        groups=groups,
    )
    if reply is not None:
        publish(
            "reply.sent",
            {"conversation_id": run.conversation_id, "message_id": reply.pk, "text": reply.text},
            groups=groups,
        )
    if handoff_id is not None:
        publish(
            "conversation.handed_off",
            {
                "conversation_id": run.conversation_id,
                "customer_id": run.customer_id,
                "handoff_id": handoff_id,
                "reason": run.decision.get("reason", ""),
                "priority": run.priority,
            },
            groups=groups,
        )


def pipeline_fail(*, run_id: int, error: str) -> None:
    """Note why a run stopped; a later attempt of the task may still finish it."""
    PipelineRun.objects.filter(pk=run_id).exclude(status__in=PipelineRun.FINAL_STATUSES).update(
        status=PipelineRun.Status.FAILED, error=error[:2000]
    )


def _groups(conversation_id: int, customer_id: int) -> tuple[str, ...]:
    return (SUPERVISORS, conversation_group(conversation_id), customer_group(customer_id))


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _ms_since(moment: Any) -> float:
    return round(max(0.0, (timezone.now() - moment).total_seconds() * 1000), 2)


# One message, in this process -------------------------------------------------------------------


def message_process(*, message_id: int) -> Reply | None:
    """Answer one inbound message in this process, at most once: None if there was nothing
    (more) to answer. The fast path, and what a caller that must wait for the answer uses.
    """
    plan = message_plan(message_id=message_id)
    if plan is None:
        return None
    return plan_run_here(plan=plan)


def plan_run_here(*, plan: Plan) -> Reply | None:
    """Run a planned message's agents side by side in this process, then finish it."""
    return pipeline_finish(
        run_id=plan.run_id, results=agents_run(run_id=plan.run_id, names=plan.analysts)
    )


# Voice -------------------------------------------------------------------------------------------


def voice_turn_reply(*, message_id: int, deadline_seconds: float) -> VoiceReply:
    """The answer to one spoken turn, if it is ready within `deadline_seconds`.

    The work goes on after the deadline and stores its reply; asking again (the call's
    <Redirect>) then finds it. Asking twice never answers twice: the pipeline run claims.
    """
    answered = voice_reply_found(message_id=message_id)
    if answered is not None:
        return answered
    future = _voice_workers.submit(_voice_turn_work, message_id)
    try:
        future.result(timeout=deadline_seconds)
    except FutureTimeout:
        return VoiceReply(text="", pending=True)
    return voice_reply_found(message_id=message_id) or VoiceReply(text="", pending=True)


def voice_reply_found(*, message_id: int) -> VoiceReply | None:
    """The stored answer to a spoken turn, or None while it is still being worked out.

    A run that failed, or a conversation already with a person, puts the caller through.
    """
    run = (
        PipelineRun.objects.select_related("reply_message")
        .filter(inbound_message_id=message_id)
        .first()
    )
    if run is None or run.status == PipelineRun.Status.RUNNING:
        return None
    if run.status == PipelineRun.Status.FAILED:
        return VoiceReply(text="", hand_off=True)
    text = run.reply_message.text if run.reply_message is not None else ""
    return VoiceReply(
        text=text, hand_off=run.handed_off or run.status == PipelineRun.Status.WITH_PERSON
    )


def _voice_turn_work(message_id: int) -> None:
    """Run in a worker thread, which owns (and must release) its own database connection."""
    try:
        message_process(message_id=message_id)
    except Exception:
        logger.exception("voice turn for message #%s failed", message_id)
        raise
    finally:
        connection.close()


def call_greeting(*, customer_id: int, correlation_id: str = "") -> str:
    """Greet a caller with what Rapport knows: their name, and the case they likely call about."""
    context = context_read(
        actor=VOICE_GREETER,
        customer=customer_id,
        partitions=VOICE_GREETER.scopes,
        purpose="greet an inbound caller by name and their open case",
        correlation_id=correlation_id,
    )
    name = (
        context.profile.display_name.split()[0]
        if context.profile is not None and context.profile.display_name.strip()
        else ""
    )
    case = context.open_cases[0] if context.open_cases else None
    if name and case:
        return f"Hi {name}, are you calling about {case.kind} {case.reference}?"
    if case:
        return f"Hello, are you calling about {case.kind} {case.reference}?"
    if name:
        return f"Hi {name}, thanks for calling. How can I help you today?"
    return "Thanks for calling. How can I help you today?"
