"""One message answered in this process: plan, agents and finish in one pass (the fast path)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrator.agents.registry import configuration_kept
from orchestrator.pipeline.agents import agents_run
from orchestrator.pipeline.finish import pipeline_finish
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
    """Run a planned message's agents side by side in this process, then finish it."""
    with configuration_kept():
        return pipeline_finish(
            run_id=plan.run_id, results=agents_run(run_id=plan.run_id, names=plan.analysts)
        )
