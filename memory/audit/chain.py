"""The chain: each entry's hashes and its place in one of the sharded hash chains."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import zlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from memory.models import (
    AuditChain,
    AuditEntry,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


# The chain -----------------------------------------------------------------------------------

CHAIN_SHARDS = 32
GENESIS = "0" * 64
# The key under which erasure and retention list the entries whose personal fields they blanked.
SCRUBBED = "scrubbed_entries"


def entry_chain(entry: AuditEntry) -> None:
    """Give a new entry its place and hashes; called by `AuditEntry` as it is inserted (after
    every pre_save receiver has filled it in), inside the transaction that inserts it."""
    entry.personal_hash = personal_hash(entry)
    entry.content_hash = content_hash(entry)
    entry.shard, entry.seq, entry.prev_hash, entry.chain_hash = _shard_advance(entry.content_hash)


def canonical(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, sort_keys=True).encode()


def personal_hash(entry: AuditEntry) -> str:
    """The hash of the fields erasure may blank: the change itself and any detail."""
    fields = [entry.changes, entry.changes_text or "", entry.serialized_data, entry.additional_data]
    # As stored: JSON turns tuples into lists and keys into strings.
    return hashlib.sha256(canonical(json.loads(json.dumps(fields)))).hexdigest()


def content_hash(entry: AuditEntry) -> str:
    """The hash of an entry's fields: who, what, when, why, the outcome, and `personal_hash`
    (so the personal fields are covered too, yet can be blanked with the proof kept)."""
    stamp = entry.timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields = [
        stamp,
        entry.action,
        entry.content_type_id,
        str(entry.object_pk),  # auditlog hands in the key itself, the column keeps text
        entry.object_id,
        entry.actor_id,
        entry.actor_email or "",
        entry.actor_label,
        entry.purpose,
        sorted(entry.partitions or []),
        entry.outcome,
        entry.cid or "",
        entry.remote_addr or "",
        entry.remote_port,
        entry.personal_hash,
    ]
    return hashlib.sha256(canonical(fields)).hexdigest()


def chain_link(*, shard: int, seq: int, previous: str, content: str) -> str:
    """An entry's chain hash: keyed, and over its place, so moving or forging one needs the key."""
    message = f"{shard}:{seq}:{previous}:{content}".encode()
    return hmac.new(chain_key().encode(), message, hashlib.sha256).hexdigest()


def chain_key() -> str:
    configured: str = settings.RAPPORT_AUDIT_CHAIN_KEY
    return (
        configured
        or hashlib.sha256(f"rapport-audit-chain{settings.SECRET_KEY}".encode()).hexdigest()
    )


def _preferred_shard() -> int:
    """Where this process and thread (so this connection) starts looking for a free shard."""
    return zlib.crc32(f"{os.getpid()}:{threading.get_ident()}".encode()) % CHAIN_SHARDS


def _shard_advance(content: str) -> tuple[int, int, str, str]:
    """Lock a shard head, link the entry to it and move it on, in one statement; return the
    entry's shard, seq, previous chain hash and own chain hash.

    On PostgreSQL the first head in this connection's rotation that no other transaction
    holds is taken (a shard this transaction already holds counts as free, so its entries stay
    on one shard); only when every shard is held does the writer wait for its own. The link is
    `chain_link` computed by the database: HMAC-SHA256 spelled out with sha256() and the key's
    pads on PostgreSQL, the same Python function registered on SQLite.
    """
    table = connection.ops.quote_name(AuditChain._meta.db_table)
    message = "shard || ':' || (seq + 1) || ':' || head_hash || ':' || %s"
    if connection.vendor == "postgresql":
        link = f"encode(sha256(%s || sha256(%s || convert_to({message}, 'UTF8'))), 'hex')"
        outer, inner = _key_pads()
        params: list[bytes | str | int] = [outer, inner, content]
    else:
        link = "rapport_chain_link(shard, seq + 1, head_hash, %s)"
        params = [content]
    rotation = f"(shard + {CHAIN_SHARDS} - %s) %% {CHAIN_SHARDS}"
    advance = (
        f"UPDATE {table} SET seq = seq + 1, prev_hash = head_hash, head_hash = {link} "  # noqa: S608 - table from _meta
        f"WHERE id = (SELECT id FROM {table} ORDER BY {rotation} LIMIT 1{{lock}}) "
        "RETURNING shard, seq, prev_hash, head_hash"
    )
    params.append(_preferred_shard())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(advance.format(lock=" FOR NO KEY UPDATE SKIP LOCKED"), params)
            row = cursor.fetchone()
            if row is None:
                cursor.execute(advance.format(lock=" FOR NO KEY UPDATE"), params)
                row = cursor.fetchone()
        else:
            # SQLite has one writer at a time anyway; the UPDATE takes its write lock at once.
            cursor.execute(advance.format(lock=""), params)
            row = cursor.fetchone()
        if row is None:
            _chain_heads_restore()
            cursor.execute(advance.format(lock=""), params)
            row = cursor.fetchone()
    assert row is not None  # noqa: S101 - the heads were just restored
    return int(row[0]), int(row[1]), str(row[2]), str(row[3])


def _key_pads() -> tuple[bytes, bytes]:
    """HMAC-SHA256's outer and inner keys (RFC 2104) for the chain key."""
    key = chain_key().encode()
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)


_SHA256_BLOCK = 64


def _chain_heads_restore() -> None:
    """Put back lost head rows (a flushed test database) at each shard's last entry."""
    newest: dict[int, tuple[int, str]] = {}
    for shard, seq, chain_hash in (
        AuditEntry.objects.filter(shard__isnull=False, seq__isnull=False)
        .order_by("shard", "seq")
        .values_list("shard", "seq", "chain_hash")
    ):
        newest[int(shard)] = (int(seq), str(chain_hash))
    AuditChain.objects.bulk_create(
        [
            AuditChain(
                shard=shard,
                seq=newest.get(shard, (0, GENESIS))[0],
                head_hash=newest.get(shard, (0, GENESIS))[1],
            )
            for shard in range(CHAIN_SHARDS)
        ],
        ignore_conflicts=True,
    )


def sqlite_functions_register(*, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """Give SQLite the chain link PostgreSQL computes with sha256()."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "rapport_chain_link",
            4,
            lambda shard, seq, previous, content: chain_link(
                shard=shard, seq=seq, previous=previous, content=content
            ),
            deterministic=True,
        )
