"""API clients: creating and revoking their tokens, and knowing a client by its token. The
access watch's quarantine of a misbehaving client is `memory.watch.actor_quarantine`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from memory.actors import ApiClientActor, Partition
from memory.audit import chained_entry_write
from memory.models import ApiClient, AuditEntry


@dataclass(frozen=True)
class IssuedClient:
    """A client just made, with its token: shown once, never stored."""

    client: ApiClient
    token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_client_create(*, name: str, scopes: list[str] | str, created_by: str) -> IssuedClient:
    """Register a client with the partitions it may read; returns its token, shown once."""
    granted = sorted(p.value for p in Partition.parse(scopes))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(name=name, token_hash=token_digest(token), scopes=granted)
        chained_entry_write(
            target=client,
            action=AuditEntry.Action.CREATE,
            actor_label=created_by,
            purpose=f"issue API client {name}",
            partitions=granted,
        )
    return IssuedClient(client=client, token=token)


def api_client_revoke(*, client: ApiClient, revoked_by: str) -> ApiClient:
    """Turn a client's token off for good."""
    with transaction.atomic():
        locked = ApiClient.objects.select_for_update().get(pk=client.pk)
        if not locked.active:
            return locked
        locked.active = False
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["active", "revoked_at"])
        chained_entry_write(
            target=locked,
            action=AuditEntry.Action.UPDATE,
            actor_label=revoked_by,
            purpose=f"revoke API client {locked.name}",
        )
    return locked


def api_client_actor_for_token(*, token: str, via: str = "api") -> ApiClientActor | None:
    """The actor an active client's token stands for, or None for an unknown or revoked one."""
    if not token:
        return None
    client = (
        ApiClient.objects.filter(token_hash=token_digest(token), active=True)
        .only("name", "scopes")
        .first()
    )
    if client is None:
        return None
    return ApiClientActor(name=client.name, scopes=Partition.parse(client.scopes), via=via)
