"""Agents' results as the chord body reads them: from the AgentRun rows the header tasks
stored, so what the agents found in a customer's words crosses Celery as ids only and never
sits in the result store."""

from __future__ import annotations

from orchestrator.agents.base import AgentOutcome
from orchestrator.agents.registry import agent_build, agent_configs
from orchestrator.models import AgentRun, PipelineRun
from orchestrator.pipeline.values import AgentResult


def agent_results_stored(*, run_id: int, names: list[str]) -> list[AgentResult]:
    """The named agents' results on this run's current attempt, in the order named; an agent
    with no row (it never finished) counts as failed. Two queries."""
    run = PipelineRun.objects.only("pk", "attempts").get(pk=run_id)
    rows = {
        row.agent_name: row
        for row in AgentRun.objects.filter(
            pipeline_run_id=run_id, attempt=run.attempts, agent_name__in=names
        )
    }
    configs = agent_configs()
    results = []
    for name in names:
        row = rows.get(name)
        may_write = tuple(sorted(w.value for w in agent_build(name, configs.get(name)).may_write))
        if row is None:
            results.append(AgentResult(agent=name, status=AgentRun.Status.FAILED))
            continue
        results.append(
            AgentResult(
                agent=name,
                status=row.status,
                outcome=AgentOutcome.from_json(row.output or {}),
                may_write=may_write,
            )
        )
    return results
