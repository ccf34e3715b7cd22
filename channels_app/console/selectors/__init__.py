"""Reads for the console. Customer context shown to a person always comes through the gate
with the person as actor: a queue page is one audited read of all its customers
(`context_read_conversations`), a conversation page one `context_read`; what the console adds
around it (handoffs, clocks, traces, work) is operational. One module per page: the queue,
its alerts, the conversation page and its work panel, the people, the report.
"""

from __future__ import annotations

from channels_app.console.selectors.alerts import Alert, AlertGroup, alerts_grouped, alerts_read
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
from channels_app.console.selectors.people import (
    RosterEntry,
    people_assignable,
    presence_of,
    roster_read,
)
from channels_app.console.selectors.queue import (
    MODE_LABELS,
    QUEUE_PARTITIONS,
    VIEWS,
    Bucket,
    QueueFigures,
    QueueFilter,
    QueuePage,
    QueueRow,
    customer_name,
    queue_page_read,
    queue_row_read,
    queue_rows_read,
)
from channels_app.console.selectors.report import TargetShare, sla_report
from channels_app.console.selectors.work import WorkPanel, work_panel_read

__all__ = [
    "MODE_LABELS",
    "PAGE_PARTITIONS",
    "PAGE_TURNS",
    "QUEUE_PARTITIONS",
    "VIEWS",
    "AgentStep",
    "Alert",
    "AlertGroup",
    "Bucket",
    "ConversationPage",
    "QueueFigures",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "RosterEntry",
    "WorkPanel",
    "TargetShare",
    "TimelineItem",
    "Trace",
    "TrendChart",
    "alerts_grouped",
    "alerts_read",
    "customer_name",
    "conversation_page_read",
    "intents_known",
    "people_assignable",
    "presence_of",
    "queue_page_read",
    "queue_row_read",
    "queue_rows_read",
    "roster_read",
    "sla_report",
    "trend_chart",
    "work_panel_read",
]
