"""Audit trail of the graph: auditlog registration, the writer of every audit entry's place in
the tamper-evident chain, its seals and their anchor outside the database, and `audit verify`.

The design, for a trail every context read writes to without one lock for all readers:

- **Sharded chains.** Every entry (reads, compliance records and auditlog's change entries
  alike) is appended to one of `CHAIN_SHARDS` hash chains. A writer locks the first shard head
  free in its own rotation (`FOR NO KEY UPDATE SKIP LOCKED`, starting from a shard picked by
  process and thread), so concurrent transactions each advance their own shard and never wait
  on each other while a shard is free; a transaction keeps using the shard it holds.
- **Self-contained links.** An entry stores its place (shard, seq), the hash of its fields
  (`content_hash`, folding in `personal_hash`, the hash of the personal fields erasure may
  blank), the chain hash of the entry before it, and its own chain hash: an HMAC, keyed with
  RAPPORT_AUDIT_CHAIN_KEY, over all four. Rewriting an entry, moving it, or inserting one needs
  the key; deleting one leaves a hole its successor still points across.
- **Seals and the anchor.** A beat task (`memory.audit_seal`) signs a snapshot of every shard's
  head (seq and chain hash), chained to the seal before it, stores it (`AuditSeal`) and exports
  it outside the tables it protects: a file in RAPPORT_AUDIT_ANCHOR_DIR and, with REDIS_URL, a
  Redis key. Entries cut from the end of a shard (with its head reset to match) or the whole
  trail reset are then caught against the anchor; only the entries written since the last seal
  can go unnoticed that way, which is why seals are frequent.
- `object_repr` stays outside every hash, so erasure can scrub names; erasure and retention
  blank the personal fields of earlier entries and list those entries in their own chained
  entry (`scrubbed_entries`), which is what lets verify tell a scrub from an edit.
"""

from __future__ import annotations

from memory.audit.chain import (
    CHAIN_SHARDS,
    GENESIS,
    SCRUBBED,
    canonical,
    chain_key,
    chain_link,
    content_hash,
    entry_chain,
    personal_hash,
    sqlite_functions_register,
)
from memory.audit.seals import (
    ANCHOR_REDIS_KEY,
    AuditTampered,
    anchor_export,
    anchor_newest,
    anchor_valid,
    anchors_read,
    seal_payload,
    seal_write,
)
from memory.audit.verify import (
    ChainProblem,
    ChainReport,
    chain_verify,
)
from memory.audit.writing import (
    access_record,
    acting_as,
    attribution_fill,
    chained_entry_write,
    register_graph_models,
    task_attribution_begin,
    task_attribution_end,
)

__all__ = [
    "ANCHOR_REDIS_KEY",
    "AuditTampered",
    "CHAIN_SHARDS",
    "ChainProblem",
    "ChainReport",
    "GENESIS",
    "SCRUBBED",
    "access_record",
    "acting_as",
    "anchor_export",
    "anchor_newest",
    "anchor_valid",
    "anchors_read",
    "attribution_fill",
    "canonical",
    "chain_key",
    "chain_link",
    "chain_verify",
    "chained_entry_write",
    "content_hash",
    "entry_chain",
    "personal_hash",
    "register_graph_models",
    "seal_payload",
    "seal_write",
    "sqlite_functions_register",
    "task_attribution_begin",
    "task_attribution_end",
]
