"""The orchestrator's pipeline for one inbound message: plan, run the agents (each reading
its context through the gate, under its own name and scope), merge, route, reply.

Two paths share every step. The fast path (voice turns, tight SLAs) runs the agents in this
process in one pass (`inline`); the full path fans them out as a Celery chord (see
`orchestrator.tasks`). Both record one PipelineRun per message, claimed by a unique
constraint, and an AgentRun per agent.
"""

from __future__ import annotations

from orchestrator.pipeline.agents import (
    agents_run,
)
from orchestrator.pipeline.finish import (
    pipeline_fail,
    pipeline_finish,
)
from orchestrator.pipeline.inline import (
    message_process,
    plan_run_here,
)
from orchestrator.pipeline.plan import (
    message_plan,
)
from orchestrator.pipeline.values import (
    AgentResult,
    Plan,
    Reply,
    VoiceReply,
)
from orchestrator.pipeline.voice import (
    VOICE_GREETER,
    call_greeting,
    voice_reply_found,
    voice_turn_reply,
)

__all__ = [
    "AgentResult",
    "Plan",
    "Reply",
    "VOICE_GREETER",
    "VoiceReply",
    "agents_run",
    "call_greeting",
    "message_plan",
    "message_process",
    "pipeline_fail",
    "pipeline_finish",
    "plan_run_here",
    "voice_reply_found",
    "voice_turn_reply",
]
