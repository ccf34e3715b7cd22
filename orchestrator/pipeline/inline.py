"""One message answered in this process: plan, agents and finish in one pass (the fast path)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrator.agents.registry import configuration_kept
from orchestrator.pipeline.agents import agents_run, run_read
from orchestrator.pipeline.finish import pipeline_fail, pipeline_finish
from orchestrator.pipeline.plan import message_plan
from orchestrator.pipeline.values import Plan, Reply

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)

# One message, in this process -------------------------------------------------------------------


def message_process(*, message_id: int) -> Reply | None:
    """Answer one inbound message in this process, at most once: None if there was nothing
    (more) to answer. The fast path, and what a caller that must wait for the answer uses.
    """
    with configuration_kept():
        plan = message_plan(message_id=message_id)
        if plan is None:
            return None
        return plan_run_here(plan=plan)


def plan_run_here(*, plan: Plan) -> Reply | None:
    """Run a planned message's agents side by side in this process, then finish it.

    A failure on the way is noted on the run and raised, as `pipeline_finish` does: a run
    left `running` would make the task's retry step aside for an attempt that is over.
    """
    with configuration_kept():
        try:
            # Read once for both steps: nothing between them changes the run or its message.
            run = run_read(run_id=plan.run_id)
            results = agents_run(run_id=plan.run_id, names=plan.analysts, run=run)
        except Exception as error:
            pipeline_fail(run_id=plan.run_id, error=f"{type(error).__name__}: {error}")
            raise
        return pipeline_finish(run_id=plan.run_id, results=results, run=run)
