"""The pipeline's traces (runs and agent runs) as personal data: what erasure blanks."""

from __future__ import annotations

from django.db.models import Q

from orchestrator.models import AgentRun, PipelineRun


def traces_scrub(*, message_ids: list[int], **_: object) -> dict[str, int]:
    """Blank what the agents read and decided about these messages; the runs stay, so the
    trail of who ran when is kept."""
    runs = PipelineRun.objects.filter(
        Q(inbound_message_id__in=message_ids) | Q(reply_message_id__in=message_ids)
    )
    return {
        "agent_runs": AgentRun.objects.filter(pipeline_run__in=runs).update(output={}, error=""),
        "pipeline_runs": runs.update(merge={}, decision={}, error=""),
    }
