"""Planning one inbound message: claim its pipeline run, choose the path and the analysts, carry
state over a channel switch, and tell the console it arrived."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from memory.events import (
    MessageReceived,
    publish,
)
from memory.models import Message
from memory.selectors import message_with_conversation
from memory.watch import actors_quarantined
from orchestrator.agents.registry import (
    BUILTIN_ANALYSTS,
    agent_configs,
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

    None when there is nothing (more) to do: not an inbound message, or already answered. A
    run left unfinished (a worker died) is taken up again as its next attempt.
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
        run.timings = {"queued": ms_since(inbound.created_at), "plan": elapsed_ms(started)}
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
    quarantined = actors_quarantined(actors=[f"agent:{name}" for name in names])
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
