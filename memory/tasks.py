"""Scheduled housekeeping of the context graph."""

from __future__ import annotations

from celery import shared_task

from memory.audit import seal_write
from memory.gdpr import messages_retention_apply


@shared_task(name="memory.retention_apply", time_limit=3600, acks_late=True)
def retention_apply() -> int:
    """Purge messages past their channel's retention (beat, nightly); safe to repeat."""
    return messages_retention_apply(dry_run=False).total


@shared_task(name="memory.audit_seal", time_limit=300, acks_late=True)
def audit_seal() -> int | None:
    """Seal the audit trail's shard heads and export the seal (beat, every minute); a repeat
    with nothing new re-exports the last seal. Returns the new seal's id."""
    seal = seal_write()
    return seal.pk if seal is not None else None
