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

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from auditlog.cid import get_cid
from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
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
from memory.models.access import AuditSeal

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
    """Append one entry to the tamper-evident trail, in the caller's transaction: three
    statements whatever the load (lock and advance a shard head, store its new hash, insert)."""
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
    entry.save(force_insert=True)
    return entry


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


def _canonical(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, sort_keys=True).encode()


def personal_hash(entry: AuditEntry) -> str:
    """The hash of the fields erasure may blank: the change itself and any detail."""
    fields = [entry.changes, entry.changes_text or "", entry.serialized_data, entry.additional_data]
    # As stored: JSON turns tuples into lists and keys into strings.
    return hashlib.sha256(_canonical(json.loads(json.dumps(fields)))).hexdigest()


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
    return hashlib.sha256(_canonical(fields)).hexdigest()


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


# Seals and the anchor outside the database ---------------------------------------------------

ANCHOR_REDIS_KEY = "rapport:audit:anchor:{database}"


class AuditTampered(RuntimeError):
    """The trail in the database is behind its own anchor: sealing it would hide that."""


def _database_slug() -> str:
    """Which database an anchor belongs to (so a test database never reads production's)."""
    name = str(connection.settings_dict.get("NAME") or "default")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).name)


def _seal_root(
    *, sealed_at: dt.datetime, heads: dict[str, list[Any]], entries: int, previous: str
) -> str:
    stamp = sealed_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    body = {"sealed_at": stamp, "heads": heads, "entries": entries, "previous": previous}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _sign(root: str) -> str:
    return hmac.new(chain_key().encode(), f"seal:{root}".encode(), hashlib.sha256).hexdigest()


def seal_payload(seal: AuditSeal) -> dict[str, Any]:
    """A seal as exported: everything needed to check its signature without the database."""
    return {
        "seal": seal.pk,
        "sealed_at": seal.sealed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "heads": seal.heads,
        "entries": seal.entries,
        "previous": seal.previous,
        "root": seal.root,
        "signature": seal.signature,
    }


def anchor_valid(payload: dict[str, Any]) -> bool:
    """Whether an exported seal is one this key signed, unaltered."""
    try:
        root = _seal_root(
            sealed_at=dt.datetime.fromisoformat(str(payload["sealed_at"])),
            heads=dict(payload["heads"]),
            entries=int(payload["entries"]),
            previous=str(payload["previous"]),
        )
    except (KeyError, TypeError, ValueError):
        return False
    return root == payload.get("root") and hmac.compare_digest(
        _sign(root), str(payload.get("signature", ""))
    )


def _anchor_file() -> Path:
    return Path(settings.RAPPORT_AUDIT_ANCHOR_DIR) / f"audit-anchor-{_database_slug()}.json"


def _redis() -> redis.Redis[bytes] | None:
    url = str(getattr(settings, "REDIS_URL", "") or "")
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None


def anchors_read() -> dict[str, dict[str, Any] | None]:
    """The exported seal in each anchor store ("file", "redis"), None where it is missing or
    unreadable; a store that is not configured is left out."""
    found: dict[str, dict[str, Any] | None] = {}
    if settings.RAPPORT_AUDIT_ANCHOR_DIR:
        try:
            found["file"] = json.loads(_anchor_file().read_text())
        except (OSError, ValueError):
            found["file"] = None
    client = _redis()
    if client is not None:
        try:
            raw = client.get(ANCHOR_REDIS_KEY.format(database=_database_slug()))
            found["redis"] = json.loads(raw) if raw else None
        except (redis.RedisError, ValueError):
            found["redis"] = None
    return found


def anchor_export(seal: AuditSeal) -> None:
    """Write the seal to every anchor store: the file replaced atomically, then Redis."""
    body = json.dumps(seal_payload(seal), sort_keys=True)
    if settings.RAPPORT_AUDIT_ANCHOR_DIR:
        target = _anchor_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False) as tmp:
            tmp.write(body)
        os.replace(tmp.name, target)
    client = _redis()
    if client is not None:
        client.set(ANCHOR_REDIS_KEY.format(database=_database_slug()), body)


def _newest_anchor(anchors: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
    valid = [a for a in anchors.values() if a is not None and anchor_valid(a)]
    return max(valid, key=lambda a: (int(a["entries"]), str(a["sealed_at"])), default=None)


def seal_write() -> AuditSeal | None:
    """Seal every shard's head and export the seal; None if nothing changed since the last one
    (the last is exported again). Refuses (AuditTampered) when the database is behind its own
    anchor, so a reset trail is never sealed over."""
    heads: dict[str, list[Any]] = {
        str(shard): [int(seq), str(head)]
        for shard, seq, head in AuditChain.objects.filter(seq__gt=0)
        .order_by("shard")
        .values_list("shard", "seq", "head_hash")
    }
    last = AuditSeal.objects.order_by("-pk").first()
    anchored = _newest_anchor(anchors_read())
    if anchored is not None:
        if last is None or not AuditSeal.objects.filter(root=anchored["root"]).exists():
            raise AuditTampered("the anchored seal is missing from the database")
        behind = [
            shard
            for shard, (seq, _) in dict(anchored["heads"]).items()
            if int(heads.get(shard, [0])[0]) < int(seq)
        ]
        if behind:
            raise AuditTampered(f"shard(s) {', '.join(behind)} behind the anchored seal")
    if last is not None and last.heads == heads:
        anchor_export(last)
        return None
    sealed_at = timezone.now()
    entries = sum(seq for seq, _ in heads.values())
    previous = last.root if last is not None else GENESIS
    root = _seal_root(sealed_at=sealed_at, heads=heads, entries=entries, previous=previous)
    try:
        with transaction.atomic():
            seal = AuditSeal.objects.create(
                sealed_at=sealed_at,
                heads=heads,
                entries=entries,
                previous=previous,
                root=root,
                signature=_sign(root),
            )
    except IntegrityError:
        return None  # another sealer got there first: its seal follows the same one
    anchor_export(seal)
    return seal


# Verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with the trail: where (shard and seq, through `last_seq` for a run of
    entries), which entry if it is still there, and what."""

    seq: int
    entry_id: int | None
    problem: str
    shard: int | None = None
    last_seq: int | None = None

    def __str__(self) -> str:
        where = "trail" if self.shard is None else f"shard {self.shard} seq {self.seq}"
        if self.last_seq is not None and self.last_seq != self.seq:
            where += f"-{self.last_seq}"
        entry = f" (entry #{self.entry_id})" if self.entry_id else ""
        return f"{where}{entry}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """The writers' counters and the seals against the entries found, and every problem."""

    counted: int
    found: int
    missing: int
    sealed: int
    anchored_at: str
    problems: tuple[ChainProblem, ...]
    per_actor: dict[str, int]

    @property
    def complete_percent(self) -> float:
        expected = self.found + self.missing
        return 100.0 if not expected else round(100.0 * self.found / expected, 3)

    @property
    def ok(self) -> bool:
        return not self.problems and self.missing == 0


@dataclass
class _Link:
    """What verify keeps of an entry while it checks its shard."""

    pk: int
    seq: int
    prev_hash: str
    chain_hash: str
    content_hash: str
    edited: bool
    linked: bool
    place: int | None = None


_SCRUBBED_STATE: tuple[Any, ...] = (None, "", None, None)


def _scrubbed_entries() -> set[int]:
    """Entries erasure or retention blanked, as listed by their own entries (only from entries
    whose own hashes hold: a forged list excuses nothing)."""
    scrubbed: set[int] = set()
    for record in AuditEntry.objects.filter(additional_data__has_key=SCRUBBED):
        if (
            record.shard is not None
            and record.seq is not None
            and personal_hash(record) == record.personal_hash
            and content_hash(record) == record.content_hash
            and chain_link(
                shard=record.shard,
                seq=record.seq,
                previous=record.prev_hash,
                content=record.content_hash,
            )
            == record.chain_hash
        ):
            listed = (record.additional_data or {}).get(SCRUBBED, [])
            scrubbed.update(int(pk) for pk in listed if isinstance(pk, int))
    return scrubbed


def _link_of(entry: AuditEntry, scrubbed: set[int]) -> _Link:
    shard, seq = int(entry.shard or 0), int(entry.seq or 0)
    return _Link(
        pk=entry.pk,
        seq=seq,
        prev_hash=entry.prev_hash,
        chain_hash=entry.chain_hash,
        content_hash=entry.content_hash,
        edited=_entry_edited(entry, scrubbed),
        linked=hmac.compare_digest(
            chain_link(shard=shard, seq=seq, previous=entry.prev_hash, content=entry.content_hash),
            entry.chain_hash,
        ),
    )


def _entry_edited(entry: AuditEntry, scrubbed: set[int]) -> bool:
    if personal_hash(entry) != entry.personal_hash:
        state = (entry.changes, entry.changes_text, entry.serialized_data, entry.additional_data)
        if entry.pk not in scrubbed or state != _SCRUBBED_STATE:
            return True
    return content_hash(entry) != entry.content_hash


def _shard_check(
    shard: int,
    links: list[_Link],
    *,
    head: AuditChain | None,
    sealed: tuple[int, str] | None,
) -> tuple[list[ChainProblem], int]:
    """Place every entry of one shard where its own link says it belongs, then name what is
    edited, forged, moved or swapped, and every run of missing places; returns the problems and
    how many places are missing."""
    problems: list[ChainProblem] = []
    counted = head.seq if head is not None else 0
    sealed_seq = sealed[0] if sealed else 0
    top = max([counted, sealed_seq, *(link.seq for link in links)])
    taken = {link.seq for link in links if link.linked}
    free = sorted(
        {link.seq for link in links if not link.linked} | (set(range(1, top + 1)) - taken)
    )
    for link in links:
        if link.linked:
            link.place = link.seq
            continue
        for place in free:
            if place != link.seq and hmac.compare_digest(
                chain_link(
                    shard=shard, seq=place, previous=link.prev_hash, content=link.content_hash
                ),
                link.chain_hash,
            ):
                link.place = place
                break
    placed = {link.place: link for link in links if link.place is not None}
    # An entry whose link fails still sits in the chain if what follows it (an entry whose own
    # link holds, the seal, the head) points at it and no linked entry owns that hash: its
    # hashes were rewritten. Otherwise nothing vouches for it: it was forged (or copied).
    owned = {link.chain_hash for link in placed.values()}
    successors = {link.prev_hash for link in placed.values()}
    if head is not None:
        successors.add(head.head_hash)
    if sealed:
        successors.add(sealed[1])
    moved = {link.seq: link for link in links if link.place is not None and link.place != link.seq}
    for link in sorted(links, key=lambda item: item.seq):
        if link.place is None:
            if link.chain_hash in successors and link.chain_hash not in owned:
                problem = "edited" if link.edited else "edited (hashes rewritten)"
            else:
                problem = "forged (no valid link)"
            problems.append(ChainProblem(link.seq, link.pk, problem, shard))
            placed.setdefault(link.seq, link)
            continue
        if link.edited:
            problems.append(ChainProblem(link.seq, link.pk, "edited", shard))
        if link.place != link.seq:
            other = moved.get(link.place)
            if other is not None and other.place == link.seq:
                if link.seq < other.seq:
                    problems.append(
                        ChainProblem(
                            link.seq,
                            link.pk,
                            f"swapped with seq {other.seq} (entry #{other.pk})",
                            shard,
                        )
                    )
            else:
                problems.append(
                    ChainProblem(link.seq, link.pk, f"moved from seq {link.place}", shard)
                )
    missing, run_start = 0, 0
    for place in range(1, top + 2):
        if place <= top and place not in placed:
            missing += 1
            run_start = run_start or place
            continue
        if run_start:
            last = place - 1
            what = "deleted"
            if last > counted:
                what = "deleted after sealing, head reset (truncated)"
            elif last == counted:
                what = "deleted (at the end)"
            problems.append(ChainProblem(run_start, None, what, shard, last))
            run_start = 0
        here, before = placed.get(place), placed.get(place - 1)
        if (
            here is not None
            and before is not None
            and here.place == place
            and before.place == place - 1
            and not (here.edited or before.edited)
            and here.prev_hash != before.chain_hash
        ):
            problems.append(ChainProblem(place, here.pk, f"does not follow seq {place - 1}", shard))
    if head is not None and counted < max(taken, default=0):
        problems.append(ChainProblem(counted, None, "head counter behind its entries", shard))
    newest = placed.get(counted)
    if head is not None and counted and newest is not None and newest.chain_hash != head.head_hash:
        if newest.place == counted and not newest.edited:
            problems.append(ChainProblem(counted, newest.pk, "head does not match", shard))
    if sealed:
        at_seal = placed.get(sealed[0])
        if at_seal is not None and at_seal.chain_hash != sealed[1] and at_seal.place == sealed[0]:
            if not at_seal.edited:
                problems.append(ChainProblem(sealed[0], at_seal.pk, "differs from its seal", shard))
    return problems, missing


def _seals_check() -> tuple[list[ChainProblem], dict[str, Any] | None, str]:
    """Every stored seal signed and chained to the one before; the anchors valid, and the
    newest of them stored too. Returns the problems, the heads to hold the shards to (the
    newest valid seal, stored or anchored) and when it was sealed."""
    problems: list[ChainProblem] = []
    previous, newest = GENESIS, None
    roots: set[str] = set()
    for seal in AuditSeal.objects.order_by("pk").iterator():
        payload = seal_payload(seal)
        if not anchor_valid(payload):
            problems.append(ChainProblem(0, None, f"seal #{seal.pk} edited or forged"))
        elif seal.previous != previous:
            problems.append(
                ChainProblem(0, None, f"seal #{seal.pk} does not follow the seal before")
            )
        previous = seal.root
        roots.add(seal.root)
        newest = payload
    anchors = anchors_read()
    for store, anchor in anchors.items():
        if anchor is None:
            if newest is not None:
                problems.append(ChainProblem(0, None, f"anchor missing from {store}"))
        elif not anchor_valid(anchor):
            problems.append(ChainProblem(0, None, f"anchor in {store} forged or edited"))
    anchored = _newest_anchor(anchors)
    if anchored is not None and anchored["root"] not in roots:
        problems.append(
            ChainProblem(
                0, None, f"seal #{anchored['seal']} of the anchor missing from the database"
            )
        )
    if anchored is not None and (
        newest is None or int(anchored["entries"]) > int(newest["entries"])
    ):
        newest = anchored
    return problems, newest, str(newest["sealed_at"]) if newest else ""


def chain_verify() -> ChainReport:
    """Check the whole trail: each entry's hashes and link, each shard's places against its head
    and the newest seal, the seals themselves and their anchor. Names every entry edited,
    forged, moved or swapped, every run deleted or truncated, and a reset."""
    problems, seal, anchored_at = _seals_check()
    sealed_heads: dict[int, tuple[int, str]] = {
        int(shard): (int(seq), str(head))
        for shard, (seq, head) in (seal or {}).get("heads", {}).items()
    }
    heads = {head.shard: head for head in AuditChain.objects.all()}
    scrubbed = _scrubbed_entries()
    per_actor: dict[str, int] = {}
    found = missing = 0
    outside = AuditEntry.objects.filter(Q(seq__isnull=True) | Q(shard__isnull=True))
    for pk in outside.values_list("pk", flat=True):
        problems.append(ChainProblem(0, pk, "forged (outside the chain)"))
        found += 1
    sealed_total = sum(seq for seq, _ in sealed_heads.values())
    checked: set[int] = set()

    def check(shard: int, links: list[_Link]) -> None:
        nonlocal missing
        shard_problems, gone = _shard_check(
            shard, links, head=heads.get(shard), sealed=sealed_heads.get(shard)
        )
        problems.extend(shard_problems)
        missing += gone
        checked.add(shard)

    # One shard in memory at a time: the entries come ordered by shard, then seq.
    entries = AuditEntry.objects.filter(seq__isnull=False, shard__isnull=False).order_by(
        "shard", "seq"
    )
    for shard, group in groupby(entries.iterator(chunk_size=2000), key=lambda e: e.shard):
        links = []
        for entry in group:
            per_actor[entry.actor_label] = per_actor.get(entry.actor_label, 0) + 1
            links.append(_link_of(entry, scrubbed))
        found += len(links)
        check(int(shard or 0), links)
    if not checked and sealed_total:
        problems.append(
            ChainProblem(0, None, f"reset: every entry deleted ({sealed_total} were sealed)")
        )
        missing = sealed_total
    else:
        for shard in sorted((set(heads) | set(sealed_heads)) - checked):
            check(shard, [])
    return ChainReport(
        counted=sum(head.seq for head in heads.values()),
        found=found,
        missing=missing,
        sealed=sealed_total,
        anchored_at=anchored_at,
        problems=tuple(problems),
        per_actor=dict(sorted(per_actor.items())),
    )
