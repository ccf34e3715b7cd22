"""Finishing a run: merge the agents' writes, route, write the reply (or a draft, or a
handoff), and tell the console."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from memory.events import (
    ConversationHandedOff,
    PipelineDone,
    ReplySent,
    customer_group,
    publish,
)
from memory.models import Channel, Conversation, Message
from memory.services import message_send
from memory.services.handoffs import conversation_hand_off, customer_hand_off_follow
from memory.services.messages import conversation_lock
from memory.watch import actors_quarantined
from orchestrator.agents.base import InboundTurn, WriteKind
from orchestrator.agents.registry import (
    RESPONDER,
    agent_build,
    agent_configs,
)
from orchestrator.agents.rules import RulesAgent
from orchestrator.merge import AgentWrites, writes_apply
from orchestrator.models import AgentConfig, AgentRun, PipelineRun
from orchestrator.people.clocks import conversation_waiting_notify
from orchestrator.people.drafts import reply_draft_store
from orchestrator.pipeline.agents import agent_start, agents_finish, inbound_turn
from orchestrator.pipeline.values import AgentResult, Reply, elapsed_ms, ms_since
from orchestrator.routing import Decision, Route, decide, reply_templates

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)

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
    turn = inbound_turn(inbound)
    timings = dict(run.timings)
    timings["agents"] = max(
        0.0, ms_since(run.started_at) - timings.get("plan", 0.0) - timings.get("queued", 0.0)
    )
    ok = [r for r in results if r.status == AgentRun.Status.OK]
    findings = {r.agent: r.outcome.findings for r in ok}
    merged = writes_apply(
        message=inbound,
        proposals=[AgentWrites(agent=r.agent, writes=r.outcome.writes) for r in ok],
        may_write={r.agent: frozenset(WriteKind(w) for w in r.may_write) for r in ok},
    )
    timings["merge"] = elapsed_ms(began)
    # Evidence in the turn may have shown the sender to be a known customer: answer as them.
    turn = inbound_turn(inbound)

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
    timings["route"] = elapsed_ms(step)

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
    timings["respond"] = elapsed_ms(step)
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
        if config is not None and _runnable(config):
            agent = agent_build(config.name, config)
            started = agent_start(
                run=run,
                turn=turn,
                name=config.name,
                agent=agent,
                config=config,
                purpose="answer inbound message",
            )
            (result,) = agents_finish(run=run, started=[started])
            reply = str(result.outcome.findings.get("reply", ""))
            if result.status == AgentRun.Status.OK and reply:
                return reply, config.name
    config = configs.get(RESPONDER.name)
    if config is not None and not _runnable(config):
        return "", ""
    responder = replace(
        RESPONDER,
        templates=reply_templates(channel=turn.channel),
        template=decision.template,
        case_id=decision.case_id,
    )
    started = agent_start(
        run=run,
        turn=turn,
        name=RESPONDER.name,
        agent=responder,
        config=config,
        purpose="answer inbound message",
    )
    (result,) = agents_finish(run=run, started=[started])
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
        conversation = conversation_lock(run.conversation_id)
        route = decision.route
        # Handed off on another channel and not released: this conversation is theirs too.
        held = customer_hand_off_follow(
            conversation=conversation, trigger_message=run.inbound_message
        )
        carried = (
            held if held is not None and held.trigger_message_id == run.inbound_message_id else None
        )
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
                reply = message_send(
                    conversation=conversation,
                    text=text,
                    author_agent=author_agent,
                    in_reply_to=run.inbound_message,
                )
        handoff = carried
        if route == Route.HAND_OFF and handoff is None:
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
        run.timings = {**timings, "deliver": elapsed_ms(step)}
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
    publish(
        PipelineDone(
            conversation_id=run.conversation_id,
            customer_id=run.customer_id,
            message_id=run.inbound_message_id,
            run_id=run.pk,
            status=run.status,
            route=run.decision.get("route"),
            reasons=run.decision.get("reasons", []),
            intent=run.decision.get("intent"),
            priority=run.priority,
            total_ms=run.total_ms,
        )
    )
    if reply is not None:
        publish(
            ReplySent(conversation_id=run.conversation_id, message_id=reply.pk, text=reply.text),
            groups=[customer_group(run.customer_id)],
        )
    if handoff_id is not None:
        publish(
            ConversationHandedOff(
                conversation_id=run.conversation_id,
                customer_id=run.customer_id,
                handoff_id=handoff_id,
                reason=run.decision.get("reason", ""),
                priority=run.priority,
            )
        )


def _runnable(config: AgentConfig) -> bool:
    """Enabled, and not quarantined by the access watch or a person."""
    return config.enabled and not actors_quarantined(actors=[config.actor_label])


def pipeline_fail(*, run_id: int, error: str) -> None:
    """Note why a run stopped; a later attempt of the task may still finish it."""
    PipelineRun.objects.filter(pk=run_id).exclude(status__in=PipelineRun.FINAL_STATUSES).update(
        status=PipelineRun.Status.FAILED, error=error[:2000]
    )
