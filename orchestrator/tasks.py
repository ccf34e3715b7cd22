"""Celery tasks of the orchestrator: thin wrappers around the pipeline, the lifecycle and the
workflow of people.

Each inbound message is planned once and, when only built-in agents read it, answered in the
same task; external agents (HTTP or chat-model endpoints) are fanned out as a chord whose body
merges and replies. Every task is idempotent: the message's PipelineRun decides, not a cache.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from celery import chord, group, shared_task
from celery.signals import worker_process_init
from django.db import InterfaceError, OperationalError, transaction

from memory.models import Message
from memory.selectors import conversation_find
from memory.services import MergeRefused
from memory.signals import outbound_message_queued
from orchestrator import lifecycle, pipeline
from orchestrator.agents.registry import BUILTIN_ANALYSTS, configuration_kept, models_warm
from orchestrator.models import PipelineRun
from orchestrator.people import clocks, queue
from orchestrator.pipeline.stored import agent_results_stored
from orchestrator.pipeline.sweep import pipeline_sweep_find

logger = logging.getLogger(__name__)

# A lost connection, a deadlock or serialization failure (OperationalError, InterfaceError),
# and a merge that another message's run made first (MergeRefused: the retry sees the records
# already one) are retried with backoff; after the last try the run stays `failed`, visible.
RETRY_DATABASE_HICCUPS: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError, MergeRefused),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@worker_process_init.connect
def _models_warm_start(**_: Any) -> None:
    """A worker process loads the models as it starts, on a thread of its own (a handler of
    this signal may not block), not while the first customer it answers waits: each model is
    read from its file, or trained on first use, which takes up to a second."""
    threading.Thread(target=_models_warm, name="rapport-models-warm", daemon=True).start()


def _models_warm() -> None:
    try:
        models_warm()
    except Exception:
        # Best effort: the first message loads what is missing, as it would without this.
        logger.exception("warming the models failed")


@shared_task(
    name="orchestrator.message_process_inbound",
    acks_late=True,
    # Nobody waits for its value; without one, publishing needs no result-store subscription,
    # so a web process hands a message on with one round trip to the broker.
    ignore_result=True,
    time_limit=120,
    soft_time_limit=100,
    **RETRY_DATABASE_HICCUPS,
)
def message_process_inbound(message_id: int) -> int | None:
    """Plan one inbound message and run it: in this task when only built-in agents read it
    (always on the fast path), else as a chord with a task per external agent. Returns the
    pipeline run's id, None if already answered.
    """
    with configuration_kept():
        plan = pipeline.message_plan(message_id=message_id)
        if plan is None:
            return None
        builtin = [name for name in plan.analysts if name in BUILTIN_ANALYSTS]
        if plan.path == PipelineRun.Path.FAST or len(builtin) == len(plan.analysts):
            # The built-in analysts are in-process models that answer in milliseconds: a chord
            # would only add broker and result-store round trips and three more task runs
            # (each reading the run, the configuration and the stored results again).
            pipeline.plan_run_here(plan=plan)
            return plan.run_id
    # The built-in analysts share one context pack and run side by side in one task; each
    # external agent (an HTTP or chat-model endpoint, slow and fallible) gets a task of its own.
    header = [agents_run.s(plan.run_id, builtin)] if builtin else []
    header += [agent_run.s(plan.run_id, name) for name in plan.analysts if name not in builtin]
    workflow = chord(group(header), pipeline_finish.s(plan.run_id))
    transaction.on_commit(workflow.apply_async)
    return plan.run_id


@shared_task(
    name="orchestrator.agent_run",
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
    **RETRY_DATABASE_HICCUPS,
)
def agent_run(run_id: int, agent_name: str) -> dict[str, Any]:
    """One agent on one message (a chord header task); its failures are recorded, not raised.
    Returns only the agent's name and status: what it found is in its AgentRun row, so no
    customer words sit in the result store or the worker's log."""
    (result,) = pipeline.agents_run(run_id=run_id, names=[agent_name])
    return {"agent": result.agent, "status": result.status}


@shared_task(
    name="orchestrator.agents_run",
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
    **RETRY_DATABASE_HICCUPS,
)
def agents_run(run_id: int, agent_names: list[str]) -> list[dict[str, Any]]:
    """Several agents on one message (a chord header task), reading one shared context pack;
    like `agent_run`, only names and statuses are returned."""
    return [
        {"agent": result.agent, "status": result.status}
        for result in pipeline.agents_run(run_id=run_id, names=agent_names)
    ]


@shared_task(
    name="orchestrator.pipeline_finish",
    acks_late=True,
    # Nobody reads its value, and a failure's message may quote a customer: nothing stored.
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
    **RETRY_DATABASE_HICCUPS,
)
def pipeline_finish(
    results: list[dict[str, Any] | list[dict[str, Any]]], run_id: int
) -> int | None:
    """The chord body: merge, route, reply and deliver once; the reply's message id. Each
    header task's result is one agent's, or a list of them (`agents_run`)."""
    names = [
        r["agent"] for result in results for r in (result if isinstance(result, list) else [result])
    ]
    with configuration_kept():
        reply = pipeline.pipeline_finish(
            run_id=run_id, results=agent_results_stored(run_id=run_id, names=names)
        )
    return reply.message_id if reply is not None else None


@shared_task(name="orchestrator.conversations_sweep", acks_late=True, time_limit=120)
def conversations_sweep() -> int:
    """Beat: queue a wrap-up for every conversation gone quiet or due to close."""
    due = lifecycle.conversations_due()
    for conversation_id, status in due:
        conversation_wrap_up.delay(conversation_id, status)
    return len(due)


@shared_task(
    name="orchestrator.conversation_wrap_up",
    acks_late=True,
    # Nobody reads its value, and a failure's message may quote a customer: nothing stored.
    ignore_result=True,
    time_limit=120,
    soft_time_limit=100,
    **RETRY_DATABASE_HICCUPS,
)
def conversation_wrap_up(conversation_id: int, status: str) -> str:
    """Summarise a quiet conversation and reconcile what it taught into facts; the new status."""
    return lifecycle.conversation_wrap_up(conversation_id=conversation_id, status=status).status


@shared_task(
    name="orchestrator.conversation_waiting",
    acks_late=True,
    time_limit=30,
    soft_time_limit=25,
    **RETRY_DATABASE_HICCUPS,
)
def conversation_waiting(conversation_id: int, waiting_since: str) -> int | None:
    """Start the waiting customer's response clock and hand the queue out; the clock's id.

    Idempotent: one running clock per conversation is a unique constraint.
    """
    conversation = conversation_find(conversation_id=conversation_id)
    if conversation is None:
        return None
    clock = clocks.response_clock_start(
        conversation=conversation, waiting_since=dt.datetime.fromisoformat(waiting_since)
    )
    queue.queue_assign_waiting()
    return clock.pk if clock is not None else None


@shared_task(name="orchestrator.sla_sweep", acks_late=True, time_limit=60, soft_time_limit=50)
def sla_sweep() -> int:
    """Beat: alert supervisors of every answer past its target (once), then hand out any
    handoff still waiting for an agent with room."""
    escalated = clocks.sla_breaches_escalate()
    queue.queue_assign_waiting()
    return len(escalated)


@shared_task(
    name="orchestrator.pipeline_sweep",
    acks_late=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
)
def pipeline_sweep() -> dict[str, int]:
    """Beat: hand every stored message that has no pipeline run (its hand-off was lost) and
    every run stuck in `running` (its worker died) to the pipeline again, and every reply
    whose delivery task was lost to delivery; the unique run per message, the run's final
    status and the delivery claim keep each answered and sent once."""
    sweep = pipeline_sweep_find()
    for message_id in sweep.to_enqueue:
        message_process_inbound.delay(message_id)
    for message_id in sweep.undelivered:
        # The channels layer delivers on this signal; its claim sends each message once.
        outbound_message_queued.send(sender=Message, message_id=message_id)
    return {
        "unplanned": len(sweep.unplanned),
        "retried": len(sweep.retried),
        "given_up": len(sweep.given_up),
        "undelivered": len(sweep.undelivered),
    }
