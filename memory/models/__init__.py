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
from memory.models.signals import CustomerSignal
from memory.models.work import ConversationLabel, ConversationNote, ConversationWork, WrapUp

__all__ = [
    "ActorQuarantine",
    "ApiClient",
    "AuditChain",
    "AuditEntry",
    "Case",
    "Channel",
    "ChannelSwitch",
    "Conversation",
    "ConversationLabel",
    "ConversationNote",
    "ConversationWork",
    "Customer",
    "CustomerMerge",
    "CustomerSignal",
    "Fact",
    "Handoff",
    "Identity",
    "IntentCorrection",
    "MergeProposal",
    "Message",
    "SentimentReading",
    "WrapUp",
    "WriteConflict",
]
