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
from memory.selectors import ContextAccessRefused
from memory.services import message_send
from memory.services.handoffs import conversation_hand_off, customer_hand_off_follow
from memory.services.messages import conversation_lock
from orchestrator.agents.base import InboundTurn, WriteKind
from orchestrator.agents.registry import (
    RESPONDER,
    agent_build,
    agent_configs,
    agents_quarantined,
)
from orchestrator.agents.rules import RulesAgent
from orchestrator.merge import AgentWrites, MergeResult, writes_apply
from orchestrator.models import AgentConfig, AgentRun, PipelineRun
from orchestrator.people.clocks import conversation_waiting_notify
from orchestrator.people.drafts import reply_draft_store
from orchestrator.pipeline.agents import (
    AgentStarted,
    agent_begin,
    agent_reader,
    agent_start,
    agents_finish,
    agents_submit,
    inbound_turn,
    reads_together,
    run_read,
)
from orchestrator.pipeline.values import AgentResult, Reply, elapsed_ms, ms_since
from orchestrator.routing import (
    Decision,
    Route,
    RouteFacts,
    decide,
    reply_templates,
    route_facts,
    router_reader,
    rules_may_write,
)

if TYPE_CHECKING:
    from memory.context import ContextPack

# Why the agent that writes the reply reads the customer's context.
ANSWER = "answer inbound message"


logger = logging.getLogger(__name__)

# Merge, route, reply, deliver -------------------------------------------------------------------


def pipeline_finish(
    *, run_id: int, results: list[AgentResult], run: PipelineRun | None = None
) -> Reply | None:
    """Merge the agents' results, let the rules and routes decide, reply, deliver (once).
    `run` when the caller read it (`run_read`) for the agents it just ran in this process.

    A failure is noted on the run (for the trace) and raised, so the task may retry.
    """
    try:
        return _finish(run_id=run_id, results=results, run=run)
    except Exception as error:
        pipeline_fail(run_id=run_id, error=f"{type(error).__name__}: {error}")
        raise


def _finish(*, run_id: int, results: list[AgentResult], run: PipelineRun | None) -> Reply | None:
    began = time.perf_counter()
    if run is None:
        run = run_read(run_id=run_id)
    if run.is_final:
        return None
    inbound = run.inbound_message
    turn = inbound_turn(inbound)
    timings = dict(run.timings)
    # From the run's start (made while planning), less the planning: the wait in the queue
    # came before the run started, so it is not taken off again.
    timings["agents"] = max(0.0, ms_since(run.started_at) - timings.get("plan", 0.0))
    ok = [r for r in results if r.status == AgentRun.Status.OK]
    findings = {r.agent: r.outcome.findings for r in ok}
    may_write = {r.agent: frozenset(WriteKind(w) for w in r.may_write) for r in ok}
    now, later = _writes_split(ok)
    merged = writes_apply(message=inbound, proposals=now, may_write=may_write)
    timings["merge"] = elapsed_ms(began)
    # Evidence in the turn may have shown the sender to be a known customer: answer as them.
    turn = inbound_turn(inbound)

    step = time.perf_counter()
    facts = route_facts(run=run, turn=turn, findings=findings)
    # The router reads the mood after the merge; the responder reads beside it (one read of
    # the customer, each audited under its own name) when nothing routing may do changes
    # whether it answers or what it would read.
    responder = _responder_beside(run=run, turn=turn, facts=facts, findings=findings)
    beside = [responder] if responder is not None else []
    packs = reads_together(
        turn=turn,
        readers=[
            router_reader(turn),
            *(agent_reader(item, turn=turn, purpose=ANSWER) for item in beside),
        ],
        begun=beside,
    )
    mood = packs[0]
    if isinstance(mood, ContextAccessRefused):
        for item in beside:
            if item.span is not None:
                item.span.end()
        raise mood
    decision = decide(run=run, turn=turn, findings=findings, facts=facts, mood=mood.emotion)
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
        text, author = _reply_text(
            run=run,
            turn=turn,
            decision=decision,
            read=(responder, packs[1]) if responder is not None else None,
        )
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
    reply = _deliver(
        run_id=run.pk,
        decision=decision,
        text=text,
        author_agent=author,
        merge_record=merge_record,
        timings=timings,
    )
    if reply is not None and later:
        _apply_after_reply(
            run_id=run.pk, inbound=inbound, later=later, may_write=may_write, record=merge_record
        )
    return reply


# Writes nothing before the reply reads (the router reads the mood, the responder the profile
# and business; neither uses the churn and buying signals, and the rules read the turn's own
# reading of them): applied once the reply is queued, so the customer does not wait for them.
# Not the gist: it marks filler turns, whose neutral readings the mood leaves out.
AFTER_REPLY = frozenset({WriteKind.SIGNAL})


def _writes_split(ok: list[AgentResult]) -> tuple[list[AgentWrites], list[AgentWrites]]:
    """The agents' writes to merge before routing, and those that may wait for the reply."""
    now = [
        AgentWrites(
            agent=r.agent, writes=tuple(w for w in r.outcome.writes if w.kind not in AFTER_REPLY)
        )
        for r in ok
    ]
    later = [
        AgentWrites(
            agent=r.agent, writes=tuple(w for w in r.outcome.writes if w.kind in AFTER_REPLY)
        )
        for r in ok
    ]
    return now, [p for p in later if p.writes]


def _apply_after_reply(
    *,
    run_id: int,
    inbound: Message,
    later: list[AgentWrites],
    may_write: dict[str, frozenset[WriteKind]],
    record: dict[str, Any],
) -> None:
    """Merge the writes that waited for the reply and add them to the run's merge record.

    The run is final by now, so a retry of the task would not come back for them: a failure
    is logged (they are the turn's churn and buying signals, which the next turns refresh), not
    raised to fail a message that was answered."""
    try:
        with transaction.atomic():
            merged = writes_apply(message=inbound, proposals=later, may_write=may_write)
            _record_after_reply(run_id=run_id, record=record, merged=merged)
    except Exception:
        logger.exception("run #%s: the writes after the reply were not applied", run_id)


def _record_after_reply(*, run_id: int, record: dict[str, Any], merged: MergeResult) -> None:
    PipelineRun.objects.filter(pk=run_id).update(
        merge={
            **record,
            "applied": [*record.get("applied", []), *merged.applied],
            "conflicts": [*record.get("conflicts", []), *merged.conflicts],
            "refused": [*record.get("refused", []), *merged.refused],
        }
    )


def _reply_text(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    decision: Decision,
    read: tuple[AgentStarted, ContextPack | ContextAccessRefused] | None = None,
) -> tuple[str, str]:
    """The reply: from the external agent the intent is routed to, else from the responder.
    Either reads its own scoped context through the gate and leaves an AgentRun; `read` is
    the responder's, when it read beside the router (its intent is never delegated)."""
    configs = agent_configs()
    if decision.agent and read is None:
        config = configs.get(decision.agent)
        if config is not None and _runnable(config):
            agent = agent_build(config.name, config)
            started = agent_start(
                run=run,
                turn=turn,
                name=config.name,
                agent=agent,
                config=config,
                purpose=ANSWER,
            )
            (result,) = agents_finish(run=run, started=[started])
            reply = str(result.outcome.findings.get("reply", ""))
            if result.status == AgentRun.Status.OK and reply:
                return reply, config.name
    config = configs.get(RESPONDER.name)
    if read is None and config is not None and not _runnable(config):
        return "", ""
    responder = replace(
        RESPONDER,
        templates=reply_templates(channel=turn.channel),
        template=decision.template,
        case_id=decision.case_id,
    )
    if read is None:
        started = agent_start(
            run=run,
            turn=turn,
            name=RESPONDER.name,
            agent=responder,
            config=config,
            purpose=ANSWER,
        )
    else:
        started, pack = read
        started.agent = responder
        agents_submit(turn=turn, begun=[started], packs=[pack])
    (result,) = agents_finish(run=run, started=[started])
    return str(result.outcome.findings.get("reply", "")), RESPONDER.name


def _responder_beside(
    *,
    run: PipelineRun,
    turn: InboundTurn,
    facts: RouteFacts,
    findings: dict[str, dict[str, Any]],
) -> AgentStarted | None:
    """The responder begun, to read beside the router, when it is the one to answer whatever
    the mood says: the customer is not held by people elsewhere, the intent is not delegated
    to an external agent, no matched rule may write (its writes would come before the reply),
    and the responder may run. Else None, and it reads on its own once routed."""
    if facts.held is not None or facts.delegated or rules_may_write(findings):
        return None
    config = agent_configs().get(RESPONDER.name)
    if config is not None and not _runnable(config):
        return None
    return agent_begin(run=run, turn=turn, name=RESPONDER.name, agent=RESPONDER, config=config)


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
    return config.enabled and not agents_quarantined([config.actor_label])


def pipeline_fail(*, run_id: int, error: str) -> None:
    """Note why a run stopped; a later attempt of the task may still finish it."""
    PipelineRun.objects.filter(pk=run_id).exclude(status__in=PipelineRun.FINAL_STATUSES).update(
        status=PipelineRun.Status.FAILED, error=error[:2000]
    )
