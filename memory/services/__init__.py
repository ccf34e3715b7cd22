"""Every action that changes the customer context graph, one module per part of it.

Services take keyword-only arguments, write inside a transaction, own their side effects
(audit entries, websocket events and follow-up tasks after commit) and return what they made.
Handoff rows (`memory.services.handoffs`) are changed only by the workflow of people in
`orchestrator.people`, which owns their response clocks and events.
"""

from __future__ import annotations

from memory.services.business import (
    CustomerUpsert,
    StaleVersion,
    case_open,
    case_set_status,
    customer_upsert,
    fact_assert,
    fact_assert_unless_stale,
    reference_key,
)
from memory.services.customers import (
    IdentityBelongsToAnotherCustomer,
    MergeRefused,
    customer_create,
    customer_merge,
    customer_resolve,
    customer_update_profile,
    identity_link,
)
from memory.services.emotion import (
    sentiment_record,
)
from memory.services.messages import (
    DELIVERY_RANK,
    DeliveryClaim,
    InboundRecord,
    MaskedDetailInReply,
    conversation_get_or_open,
    conversation_go_quiet,
    conversation_lock,
    conversation_record_channel_switch,
    message_delivery_advance,
    message_delivery_claim,
    message_delivery_fail,
    message_delivery_record,
    message_delivery_requeue,
    message_record_inbound,
    message_record_outbound,
    message_send,
    message_set_gist,
)
from memory.services.proposals import (
    LinkEvidence,
    customer_link_evidence,
    intent_correction_record,
    merge_proposal_decide,
    merge_propose,
)
from memory.services.signals import customer_signal_record

__all__ = [
    "DELIVERY_RANK",
    "CustomerUpsert",
    "DeliveryClaim",
    "IdentityBelongsToAnotherCustomer",
    "InboundRecord",
    "LinkEvidence",
    "MaskedDetailInReply",
    "MergeRefused",
    "StaleVersion",
    "case_open",
    "case_set_status",
    "conversation_get_or_open",
    "conversation_go_quiet",
    "conversation_lock",
    "conversation_record_channel_switch",
    "customer_create",
    "customer_link_evidence",
    "customer_merge",
    "customer_resolve",
    "customer_signal_record",
    "customer_update_profile",
    "customer_upsert",
    "fact_assert",
    "fact_assert_unless_stale",
    "identity_link",
    "intent_correction_record",
    "merge_proposal_decide",
    "merge_propose",
    "message_delivery_advance",
    "message_delivery_claim",
    "message_delivery_fail",
    "message_delivery_record",
    "message_delivery_requeue",
    "message_record_inbound",
    "message_record_outbound",
    "message_send",
    "message_set_gist",
    "reference_key",
    "sentiment_record",
]
