"""Reads for the console. Customer context shown to a person always comes through the gate
(`context_read` with the person as actor), so every queue row and conversation page is an
audited access; what the console adds around it (handoffs, clocks, traces) is operational.
One module per page: the queue, its alerts, the conversation page, the people, the report.
"""

from __future__ import annotations

from channels_app.console.selectors.alerts import Alert, alerts_read
from channels_app.console.selectors.conversation import (
    PAGE_PARTITIONS,
    PAGE_TURNS,
    AgentStep,
    ConversationPage,
    TimelineItem,
    Trace,
    TrendChart,
    conversation_page_read,
    intents_known,
    trend_chart,
)
from channels_app.console.selectors.people import people_assignable, presence_of
from channels_app.console.selectors.queue import (
    MODE_LABELS,
    QUEUE_PARTITIONS,
    Bucket,
    QueueRow,
    queue_read,
    queue_row_read,
)
from channels_app.console.selectors.report import TargetShare, sla_report

__all__ = [
    "MODE_LABELS",
    "PAGE_PARTITIONS",
    "PAGE_TURNS",
    "QUEUE_PARTITIONS",
    "AgentStep",
    "Alert",
    "Bucket",
    "ConversationPage",
    "QueueRow",
    "TargetShare",
    "TimelineItem",
    "Trace",
    "TrendChart",
    "alerts_read",
    "conversation_page_read",
    "intents_known",
    "people_assignable",
    "presence_of",
    "queue_read",
    "queue_row_read",
    "sla_report",
    "trend_chart",
]
