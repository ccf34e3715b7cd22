"""`audit verify`: every shard walked against its links, the seals and the anchor, each
problem named."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from memory.audit.chain import GENESIS, SCRUBBED, chain_link, content_hash, personal_hash
from memory.audit.seals import anchor_newest, anchor_valid, anchors_read, seal_payload
from memory.models import (
    AuditChain,
    AuditEntry,
)
from memory.models.access import AuditSeal

if TYPE_CHECKING:
    pass


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
    anchored = anchor_newest(anchors)
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
