"""Audit trail of the graph: auditlog registration and the one writer of context-access entries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditlog.cid import get_cid
from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from django.utils.encoding import smart_str

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
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper
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
    """Have auditlog record create, update and delete on every graph model."""
    for model in (
        Customer,
        Identity,
        Conversation,
        Case,
        Fact,
        SentimentReading,
        CustomerMerge,
        MergeProposal,
        IntentCorrection,
    ):
        if not auditlog.contains(model):
            auditlog.register(model)
    if not auditlog.contains(Message):
        # The words themselves stay out of the change log: it is kept longer than messages are.
        auditlog.register(Message, mask_fields=["text", "raw_text"])


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
    user = actor.user
    return chained_entry_write(
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
    """Append one entry to the tamper-evident chain, in the caller's transaction.

    Two statements whatever the load: advancing the chain head (whose row lock orders
    concurrent writers until they commit) and inserting the entry.
    """
    entry = AuditEntry(
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
    entry.content_hash = content_hash(entry)
    with transaction.atomic(savepoint=False):
        entry.seq, entry.chain_hash = _chain_advance(entry.content_hash)
        entry.save(force_insert=True)
    return entry


def content_hash(entry: AuditEntry) -> str:
    """The hash of an entry's non-personal fields: who, what, when, why, and the outcome."""
    stamp = entry.timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields = [
        stamp,
        entry.action,
        entry.content_type_id,
        entry.object_pk,
        entry.actor_id,
        entry.actor_label,
        entry.purpose,
        sorted(entry.partitions or []),
        entry.outcome,
        entry.cid or "",
    ]
    canonical = json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_link(previous: str, content: str) -> str:
    """The chain hash of an entry: keyed, so rewriting the chain needs the key, not just SQL."""
    return hashlib.sha256(f"{chain_key()}{previous}{content}".encode()).hexdigest()


def chain_key() -> str:
    configured: str = settings.RAPPORT_AUDIT_CHAIN_KEY
    return (
        configured
        or hashlib.sha256(f"rapport-audit-chain{settings.SECRET_KEY}".encode()).hexdigest()
    )


def _chain_advance(content: str) -> tuple[int, str]:
    """Move the head one entry on and return the entry's position and chain hash.

    The new hash is computed inside the UPDATE from the head's current value, so a writer
    that waited for the row lock links to the entry committed just before it.
    """
    table = connection.ops.quote_name(AuditChain._meta.db_table)
    if connection.vendor == "postgresql":
        link = "encode(sha256(convert_to(%s || head_hash || %s, 'UTF8')), 'hex')"
    else:
        link = "rapport_chain_link(%s, head_hash, %s)"
    sql = (
        f"UPDATE {table} SET seq = seq + 1, head_hash = {link} "  # noqa: S608 - table from _meta
        "WHERE id = 1 RETURNING seq, head_hash"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [chain_key(), content])
        row = cursor.fetchone()
        if row is None:
            _chain_head_restore()
            cursor.execute(sql, [chain_key(), content])
            row = cursor.fetchone()
    return int(row[0]), str(row[1])


def _chain_head_restore() -> None:
    """Put back a lost head row (a flushed test database) at the last chained entry."""
    last = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").first()
    AuditChain.objects.get_or_create(
        pk=1,
        defaults={
            "seq": last.seq if last else 0,
            "head_hash": last.chain_hash if last else "0" * 64,
        },
    )


def sqlite_functions_register(*, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """Give SQLite the chain-link function PostgreSQL computes with sha256()."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "rapport_chain_link",
            3,
            lambda key, previous, content: hashlib.sha256(
                f"{key}{previous}{content}".encode()
            ).hexdigest(),
            deterministic=True,
        )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    entry_id: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    """The gate's counter against the entries found, and every break in the chain."""

    counted: int
    found: int
    unchained_access: int
    problems: tuple[ChainProblem, ...]
    per_actor: dict[str, int]

    @property
    def missing(self) -> int:
        return self.counted - self.found

    @property
    def complete_percent(self) -> float:
        return 100.0 if not self.counted else round(100.0 * self.found / self.counted, 3)

    @property
    def ok(self) -> bool:
        return not self.problems and self.missing == 0


def chain_verify() -> ChainReport:
    """Walk the chain in order: recompute each entry's content hash and chain link, and name
    every entry edited, deleted or out of place; compare the head's counter with the count."""
    head = AuditChain.objects.filter(pk=1).first()
    counted = head.seq if head else 0
    problems: list[ChainProblem] = []
    previous, expected, found = "0" * 64, 1, 0
    per_actor: dict[str, int] = {}
    entries = AuditEntry.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=2000)
    for entry in entries:
        seq = int(entry.seq or 0)
        found += 1
        per_actor[entry.actor_label] = per_actor.get(entry.actor_label, 0) + 1
        problems.extend(
            ChainProblem(seq=gone, entry_id=None, problem="deleted")
            for gone in range(expected, seq)
        )
        if content_hash(entry) != entry.content_hash:
            problems.append(ChainProblem(seq=seq, entry_id=entry.pk, problem="edited"))
        elif seq == expected and chain_link(previous, entry.content_hash) != entry.chain_hash:
            # After a gap the link cannot be checked: the deleted entry's hash is gone with it.
            problems.append(
                ChainProblem(seq=seq, entry_id=entry.pk, problem="edited (hashes rewritten)")
            )
        previous, expected = entry.chain_hash, seq + 1
    problems.extend(
        ChainProblem(seq=gone, entry_id=None, problem="deleted (at the end)")
        for gone in range(expected, counted + 1)
    )
    if head is not None and counted and previous != head.head_hash and expected > counted:
        problems.append(ChainProblem(seq=counted, entry_id=None, problem="head does not match"))
    unchained = AuditEntry.objects.filter(seq__isnull=True, action=AuditEntry.Action.ACCESS).count()
    return ChainReport(
        counted=counted,
        found=found,
        unchained_access=unchained,
        problems=tuple(problems),
        per_actor=dict(sorted(per_actor.items())),
    )
