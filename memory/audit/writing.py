"""Writing the trail: who a change is attributed to, auditlog's registration of the graph, and
the one writer of access and compliance entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from auditlog.cid import get_cid
from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.encoding import smart_str

from memory.audit.chain import (
    CHAIN_SHARDS,
    _chain_heads_restore,
    _key_pads,
    _preferred_shard,
    chain_link,
    content_hash,
    personal_hash,
)
from memory.models import (
    AuditChain,
    AuditEntry,
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    IntentCorrection,
    MergeProposal,
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from django.contrib.auth.models import User
    from django.db.models import Model

    from memory.actors import Actor, Partition


_attribution: ContextVar[str] = ContextVar("rapport_audit_attribution", default="")


@contextmanager
def acting_as(*, label: str, user: User | None = None) -> Iterator[None]:
    """Attribute the change entries auditlog writes in this block to `label` (and `user`):
    what auditlog's request middleware does for a signed-in person, for work done outside a
    request (Celery tasks) or by a non-person (API clients). An entry that names its actor
    already (the gate's ACCESS entries) keeps it; nested blocks hand back when they end."""
    token = _attribution.set(label[:150])
    try:
        if user is None:
            yield
        else:
            with set_actor(user):
                yield
    finally:
        _attribution.reset(token)


def attribution_fill(*, instance: AuditEntry, **_: object) -> None:
    """`pre_save` of audit entries: an unattributed change entry takes the block's label."""
    if not instance.actor_label:
        instance.actor_label = _attribution.get()


_task_attributions: dict[str, ExitStack] = {}


def task_attribution_begin(*, task_id: str, task: Any, **_: object) -> None:
    """Celery `task_prerun`: changes a task makes are the task's (`task:<name>`)."""
    stack = ExitStack()
    stack.enter_context(acting_as(label=f"task:{task.name}"))
    _task_attributions[task_id] = stack


def task_attribution_end(*, task_id: str, **_: object) -> None:
    """Celery `task_postrun`: end the task's attribution."""
    stack = _task_attributions.pop(task_id, None)
    if stack is not None:
        stack.close()


def register_graph_models() -> None:
    """Have auditlog record create, update and delete on every graph model.

    Left out of the change log: what only follows from an entry already there (a
    conversation's `last_message_at` moves with each message, whose creation is logged; a
    message's `gist` and `is_filler` are read from its words), so a message costs the trail
    its own entries and not three more; and a message's words themselves, which are kept
    longer in the change log than messages are."""
    for model in (
        Customer,
        Identity,
        Case,
        Fact,
        SentimentReading,
        CustomerMerge,
        MergeProposal,
        IntentCorrection,
    ):
        if not auditlog.contains(model):
            auditlog.register(model)
    # Reverse one-to-ones (a message's sentiment and pipeline run, a conversation's work and
    # switch) are not the row's own fields: diffing them cost a SELECT each on every create.
    if not auditlog.contains(Conversation):
        auditlog.register(
            Conversation, exclude_fields=["last_message_at", "arrived_by_switch", "work"]
        )
    if not auditlog.contains(Message):
        auditlog.register(
            Message,
            mask_fields=["text", "raw_text"],
            exclude_fields=["gist", "is_filler", "sentiment", "pipeline_run"],
        )


def access_record(
    *,
    actor: Actor,
    customer: Customer,
    partitions: Iterable[Partition],
    purpose: str,
    outcome: str,
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Write the ACCESS entry for one read of a customer's context, granted or refused."""
    entry = access_entry(
        actor=actor,
        customer=customer,
        partitions=partitions,
        purpose=purpose,
        outcome=outcome,
        correlation_id=correlation_id,
        detail=detail,
    )
    entry.save(force_insert=True)
    return entry


def access_entry(
    *,
    actor: Actor,
    customer: Customer,
    partitions: Iterable[Partition],
    purpose: str,
    outcome: str,
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """The ACCESS entry for one read, not yet written: several go in one `chained_entries_write`."""
    user = actor.user
    return audit_entry_build(
        target=customer,
        action=AuditEntry.Action.ACCESS,
        actor_user=user if user is not None and user.pk is not None else None,
        actor_label=actor.label,
        purpose=purpose,
        partitions=sorted(p.value for p in partitions),
        outcome=outcome,
        correlation_id=correlation_id,
        detail=detail,
    )


def chained_entry_write(
    *,
    target: Model,
    action: int,
    actor_label: str,
    purpose: str,
    actor_user: User | None = None,
    partitions: list[str] | None = None,
    outcome: str = "",
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Append one entry to the tamper-evident trail, in the caller's transaction: three
    statements whatever the load (lock and advance a shard head, store its new hash, insert)."""
    entry = audit_entry_build(
        target=target,
        action=action,
        actor_label=actor_label,
        purpose=purpose,
        actor_user=actor_user,
        partitions=partitions,
        outcome=outcome,
        correlation_id=correlation_id,
        detail=detail,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry_build(
    *,
    target: Model,
    action: int,
    actor_label: str,
    purpose: str,
    actor_user: User | None = None,
    partitions: list[str] | None = None,
    outcome: str = "",
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """An entry about `target`, filled in but not yet written (nor chained)."""
    return AuditEntry(
        content_type=ContentType.objects.get_for_model(target),
        object_pk=str(target.pk),
        object_id=target.pk if isinstance(target.pk, int) else None,
        object_repr=smart_str(target),
        action=action,
        changes=None,
        actor=actor_user,
        actor_label=actor_label[:150],
        purpose=purpose[:200],
        partitions=partitions or [],
        outcome=outcome,
        cid=correlation_id or get_cid(),
        additional_data=detail or None,
        timestamp=timezone.now(),
    )


def chained_entries_write(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    """Append several entries to the trail at once, in the caller's transaction (or one of
    their own): on PostgreSQL one statement for them all (`entries_insert_linked`), elsewhere
    (or when every shard is held) one shard head locked and moved once and one INSERT for them
    all, so a read shared by six agents costs one statement, not twelve.

    The entries follow each other on that shard exactly as if written one by one: each is
    linked to the one before with `chain_link`, the same keyed hash the single writer has the
    database compute, so `audit verify` cannot tell the two apart.
    """
    if len(entries) <= 1:
        for entry in entries:
            entry.save(force_insert=True)
        return list(entries)
    for entry in entries:
        # What `save` would do first: auditlog's actor and our attribution fill them in.
        pre_save.send(
            sender=AuditEntry, instance=entry, raw=False, using="default", update_fields=None
        )
        entry.personal_hash = personal_hash(entry)
        entry.content_hash = content_hash(entry)
    if entries_insert_linked(entries):
        return list(entries)
    with transaction.atomic(savepoint=False):
        shard, seq, head = shard_lock()
        for entry in entries:
            seq += 1
            entry.shard, entry.seq, entry.prev_hash = shard, seq, head
            entry.chain_hash = head = chain_link(
                shard=shard, seq=seq, previous=entry.prev_hash, content=entry.content_hash
            )
        shard_move(shard=shard, seq=seq, head_hash=head, prev_hash=entries[-1].prev_hash)
        AuditEntry.objects.bulk_create(entries)
    return list(entries)


def shard_lock() -> tuple[int, int, str]:
    """Lock the first shard head free in this connection's rotation (as the single writer
    does, waiting only when every shard is held); its shard, seq and chain hash."""
    table = connection.ops.quote_name(AuditChain._meta.db_table)
    select = (
        f"SELECT shard, seq, head_hash FROM {table} "  # noqa: S608 - table from _meta
        f"ORDER BY (shard + {CHAIN_SHARDS} - %s) %% {CHAIN_SHARDS} LIMIT 1{{lock}}"
    )
    params = [_preferred_shard()]
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if not postgres:
            # SQLite has one writer at a time: take the write lock now, before reading the head.
            cursor.execute(f"UPDATE {table} SET seq = seq WHERE shard = -1")  # noqa: S608
        cursor.execute(
            select.format(lock=" FOR NO KEY UPDATE SKIP LOCKED" if postgres else ""), params
        )
        row = cursor.fetchone()
        if row is None and postgres:
            cursor.execute(select.format(lock=" FOR NO KEY UPDATE"), params)
            row = cursor.fetchone()
        if row is None:
            _chain_heads_restore()
            cursor.execute(select.format(lock=" FOR NO KEY UPDATE" if postgres else ""), params)
            row = cursor.fetchone()
    assert row is not None  # noqa: S101 - the heads were just restored
    return int(row[0]), int(row[1]), str(row[2])


def shard_move(*, shard: int, seq: int, head_hash: str, prev_hash: str) -> None:
    """Move a locked shard head on past the entries just linked to it."""
    AuditChain.objects.filter(shard=shard).update(seq=seq, head_hash=head_hash, prev_hash=prev_hash)


def entry_insert_linked(entry: AuditEntry) -> bool:
    """Append one entry on PostgreSQL in a single statement (`entries_insert_linked`): needing
    no transaction of its own, a read's entry costs one round trip instead of four (begin,
    move the head, insert, commit). False, with nothing written, when every shard is held by
    another transaction or on another database: the caller then writes it the usual way."""
    if connection.vendor != "postgresql":
        return False
    pre_save.send(sender=AuditEntry, instance=entry, raw=False, using="default", update_fields=None)
    entry.personal_hash = personal_hash(entry)
    entry.content_hash = content_hash(entry)
    return entries_insert_linked([entry])


def entries_insert_linked(entries: Sequence[AuditEntry]) -> bool:
    """Append entries (filled in and hashed, not yet placed) on PostgreSQL in one statement: a
    shard head is taken (`SKIP LOCKED`, in this connection's rotation), the entries are linked
    to it one after the other by a recursive CTE, the head moved past the last, and the entries
    inserted, all in one `WITH ... UPDATE ... INSERT`. The shard is held for that statement
    only (or to the end of the caller's transaction, as any writer holds it).

    Each link is `chain_link`, computed by the database as the single writer does (HMAC-SHA256
    spelled out with sha256() and the key's pads). False, with nothing written, when every
    shard is held by another transaction, or on another database."""
    if connection.vendor != "postgresql" or not entries:
        return False
    fields = _placed_fields()
    quote = connection.ops.quote_name
    chain, table = quote(AuditChain._meta.db_table), quote(AuditEntry._meta.db_table)
    typed = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
    rows = ", ".join(f"(%s::int, %s::text, {typed})" for _ in entries)
    columns = ", ".join(quote(field.column) for field in fields)
    aliases = ", ".join(f"c{i}" for i in range(len(fields)))
    message = "head.shard || ':' || (link.seq + 1) || ':' || link.hash || ':' || new.content"
    hmac_sql = f"encode(sha256(%s || sha256(%s || convert_to({message}, 'UTF8'))), 'hex')"
    statement = (
        f"WITH RECURSIVE new (n, content, {aliases}) AS (VALUES {rows}), "  # noqa: S608 - names from _meta
        f"head AS (SELECT id, shard, seq, head_hash FROM {chain} "
        f"ORDER BY (shard + {CHAIN_SHARDS} - %s) %% {CHAIN_SHARDS} LIMIT 1 "
        "FOR NO KEY UPDATE SKIP LOCKED), "
        "link (n, seq, prev, hash) AS (SELECT 0, seq, ''::text, head_hash::text FROM head "
        f"UNION ALL SELECT new.n, link.seq + 1, link.hash, {hmac_sql} "
        "FROM link JOIN new ON new.n = link.n + 1 CROSS JOIN head), "
        f"moved AS (UPDATE {chain} SET seq = last.seq, prev_hash = last.prev, "
        "head_hash = last.hash FROM (SELECT seq, prev, hash FROM link ORDER BY n DESC LIMIT 1) "
        f"last WHERE {chain}.id = (SELECT id FROM head) RETURNING 1) "
        f"INSERT INTO {table} ({columns}, shard, seq, prev_hash, chain_hash) "
        f"SELECT {aliases}, head.shard, link.seq, link.prev, link.hash "
        "FROM new JOIN link ON link.n = new.n CROSS JOIN head "
        f"WHERE EXISTS (SELECT 1 FROM moved){_commit_without_flush()} ORDER BY new.n "
        "RETURNING id, shard, seq, prev_hash, chain_hash"
    )
    outer, inner = _key_pads()
    params: list[Any] = []
    for n, entry in enumerate(entries, start=1):
        params += [n, entry.content_hash]
        params += [
            field.get_db_prep_save(field.pre_save(entry, True), connection) for field in fields
        ]
    params += [_preferred_shard(), outer, inner]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        placed = sorted(cursor.fetchall(), key=lambda row: int(row[2]))
    if not placed:
        return False
    for entry, row in zip(entries, placed, strict=True):
        entry.pk, entry.shard, entry.seq, entry.prev_hash, entry.chain_hash = row
        entry._state.adding = False
        entry._state.db = "default"
    return True


def _commit_without_flush() -> str:
    """With RAPPORT_AUDIT_ASYNC_COMMIT, an entry written in a transaction of its own (a read
    outside any other write) commits without waiting for its WAL to reach the disk: on a busy
    disk that wait is most of a read. The entry and its shard head still commit together or
    not at all; what a crash of the database server can lose is the last fraction of a second
    of such entries, never a hole in a chain. Any later ordinary commit (an agent's run, a
    reply, a seal) flushes them first, so a seal never names an entry that can be lost.
    Off by default: the setting is the deployment's choice of durability for read entries."""
    if connection.in_atomic_block or not getattr(settings, "RAPPORT_AUDIT_ASYNC_COMMIT", False):
        return ""
    # Local to the statement's own transaction: the setting ends with it.
    return " AND set_config('synchronous_commit', 'off', true) = 'off'"


def _placed_fields() -> list[Any]:
    """The columns an entry brings itself (all but its id and its place in the chain)."""
    return [
        field
        for field in AuditEntry._meta.concrete_fields
        if not field.primary_key and field.attname not in _PLACE_COLUMNS
    ]


_PLACE_COLUMNS = ("shard", "seq", "prev_hash", "chain_hash")
