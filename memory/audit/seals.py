"""Seals and the anchor outside the database: signed snapshots of every shard's head."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from memory.audit.chain import GENESIS, canonical, chain_key
from memory.models import (
    AuditChain,
)
from memory.models.access import AuditSeal

if TYPE_CHECKING:
    pass


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
    return hashlib.sha256(canonical(body)).hexdigest()


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


def anchor_newest(anchors: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
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
    anchored = anchor_newest(anchors_read())
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
