"""The customer context graph: customers and identities, conversations and messages,
business state (cases, versioned facts with provenance) and emotion (sentiment readings), and
who read what (the audit trail, API clients, quarantines).

Models hold data and invariants; every change goes through `memory.services`.
"""

from __future__ import annotations

from memory.models.access import ActorQuarantine, ApiClient, AuditChain, AuditEntry
from memory.models.business import Case, Fact, SentimentReading, WriteConflict
from memory.models.conversations import (
    ChannelSwitch,
    Conversation,
    Handoff,
    IntentCorrection,
    Message,
)
from memory.models.customers import Channel, Customer, CustomerMerge, Identity, MergeProposal

__all__ = [
    "ActorQuarantine",
    "ApiClient",
    "AuditChain",
    "AuditEntry",
    "Case",
    "Channel",
    "ChannelSwitch",
    "Conversation",
    "Customer",
    "CustomerMerge",
    "Fact",
    "Handoff",
    "Identity",
    "IntentCorrection",
    "MergeProposal",
    "Message",
    "SentimentReading",
    "WriteConflict",
]
