"""Planning one inbound message: claim its pipeline run, choose the path and the analysts, carry
state over a channel switch, and tell the console it arrived."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from memory.events import (
    MessageReceived,
    PipelineDone,
    publish,
)
from memory.models import Message
from memory.selectors import message_with_conversation
from orchestrator.agents.registry import (
    BUILTIN_ANALYSTS,
    RESPONDER,
    agent_configs,
    agents_quarantined,
)
from orchestrator.handover import channel_switch_carry
from orchestrator.models import AgentConfig, PipelineRun
from orchestrator.pipeline.values import Plan, elapsed_ms, ms_since

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)

# Plan -----------------------------------------------------------------------------------------


def message_plan(*, message_id: int) -> Plan | None:
    """Claim the message's PipelineRun and decide which agents read it, on which path.

    None when there is nothing (more) to do: not an inbound message, already answered, or
    another attempt at work on it. A run that failed, or left `running` past
    PIPELINE_STUCK_AFTER_SECONDS (its worker died), is taken up again as its next attempt.
    """
    started = time.perf_counter()
    inbound = message_with_conversation(message_id=message_id)
    if inbound is None or inbound.direction != Message.Direction.INBOUND:
        return None
    sla = settings.ORCHESTRATOR_SLA_SECONDS.get(inbound.channel, 60)
    path = (
        PipelineRun.Path.FAST
        if sla <= settings.ORCHESTRATOR_FAST_PATH_SLA_SECONDS
        else PipelineRun.Path.FULL
    )
    automated = str(inbound.channel_metadata.get("auto_reply", ""))
    # Chosen before the claim, so a new run is inserted with its plan (no update after).
    analysts, skipped = _analysts_for(path) if not automated else ((), {})
    planned = {
        "path": path,
        "sla_seconds": sla,
        "agents": list(analysts),
        "skipped": skipped,
        "channel_switch": None,
    }
    with transaction.atomic():
        run, created = _run_claim(
            inbound=inbound,
            path=path,
            plan=planned,
            timings={"queued": ms_since(inbound.created_at), "plan": elapsed_ms(started)},
        )
        if not created:
            run = PipelineRun.objects.select_for_update().get(pk=run.pk)
            if run.is_final or _attempt_at_work(run):
                return None
            # A new attempt: running again from now, so the sweeper times this attempt.
            run.attempts += 1
            run.status = PipelineRun.Status.RUNNING
            run.started_at = timezone.now()
            run.save(update_fields=["attempts", "status", "started_at"])
            return Plan(run_id=run.pk, path=run.path, analysts=tuple(run.plan.get("agents", ())))
        if automated:
            _record_no_reply(run=run, sla=sla, reason=f"automated e-mail ({automated})")
            return None
        switch = channel_switch_carry(inbound=inbound)
        if switch is not None:
            run.plan = {**run.plan, "channel_switch": _switch_json(switch)}
            run.timings = {**run.timings, "plan": elapsed_ms(started)}
            run.save(update_fields=["plan", "timings"])
        publish(
            MessageReceived(
                conversation_id=inbound.conversation_id,
                customer_id=inbound.customer_id,
                message_id=inbound.pk,
                channel=inbound.channel,
                path=path,
                channel_switch=run.plan["channel_switch"],
            )
        )
    return Plan(run_id=run.pk, path=path, analysts=analysts)


def _run_claim(
    *, inbound: Message, path: str, plan: dict[str, Any], timings: dict[str, float]
) -> tuple[PipelineRun, bool]:
    """The message's run, and whether this call created it (with `plan` and `timings`).
    Most messages are new, so the insert comes first (the unique run per message decides a
    race) and an existing run is read only when it is there: one statement where a look
    first took two more."""
    try:
        with transaction.atomic():
            run = PipelineRun.objects.create(
                inbound_message=inbound,
                conversation_id=inbound.conversation_id,
                customer_id=inbound.customer_id,
                channel=inbound.channel,
                path=path,
                plan=plan,
                timings=timings,
            )
        return run, True
    except IntegrityError:
        return PipelineRun.objects.get(inbound_message=inbound), False


def _attempt_at_work(run: PipelineRun) -> bool:
    """Another attempt is still running this message and may yet answer it (a retried voice
    webhook, a duplicate task): this one steps aside. One `running` longer than any task may
    run lost its worker, and is taken up again (the sweeper does so too)."""
    if run.status != PipelineRun.Status.RUNNING:
        return False
    stuck_after = dt.timedelta(seconds=settings.PIPELINE_STUCK_AFTER_SECONDS)
    return run.started_at > timezone.now() - stuck_after


def _record_no_reply(*, run: PipelineRun, sla: int, reason: str) -> None:
    """Close the run of a message no one should answer (an out-of-office or other automated
    e-mail): stored and shown, read by no agent, answered by nothing, so two auto-responders
    cannot talk to each other forever (RFC 3834)."""
    now = timezone.now()
    run.status = PipelineRun.Status.WITH_PERSON
    run.plan = {"path": run.path, "sla_seconds": sla, "agents": [], "skipped": {"*": reason}}
    run.decision = {"route": "no_reply", "reason": reason, "reasons": [reason]}
    run.finished_at = now
    run.total_ms = round((now - run.started_at).total_seconds() * 1000, 2)
    run.save(update_fields=["status", "plan", "decision", "finished_at", "total_ms"])
    inbound = run.inbound_message
    publish(
        MessageReceived(
            conversation_id=inbound.conversation_id,
            customer_id=inbound.customer_id,
            message_id=inbound.pk,
            channel=inbound.channel,
            path=run.path,
            channel_switch=None,
        )
    )
    publish(
        PipelineDone(
            conversation_id=run.conversation_id,
            customer_id=run.customer_id,
            message_id=inbound.pk,
            run_id=run.pk,
            status=run.status,
            route="no_reply",
            reasons=[reason],
            total_ms=run.total_ms,
        )
    )


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
    names = [*BUILTIN_ANALYSTS, *(c.name for c in external)]
    # The responder is asked about too: its turn in the same message then needs no query.
    quarantined = agents_quarantined([f"agent:{name}" for name in (*names, RESPONDER.name)])
    for name in names:
        config = configs.get(name)
        if f"agent:{name}" in quarantined:
            skipped[name] = f"quarantined: {quarantined[f'agent:{name}'].reason}"
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
