"""Signals memory sends for the layers above it, which connect their receivers in their own
`AppConfig.ready()`: memory never imports them."""

from __future__ import annotations

from django.dispatch import Signal

# After commit, an outbound message waits in `pending` for its channel's backend to deliver it.
# Sent with message_id: int.
outbound_message_queued = Signal()

# Inside an erasure's or a retention purge's transaction: scrub what you derived from these
# messages and conversations. Sent with message_ids: list[int], conversation_ids: list[int];
# each receiver returns {what: rows scrubbed}, which the erasure records.
personal_data_erasing = Signal()
