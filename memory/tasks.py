"""Scheduled housekeeping of the context graph."""

from __future__ import annotations

from celery import shared_task

from memory.gdpr import messages_retention_apply


@shared_task(name="memory.retention_apply", time_limit=3600, acks_late=True)
def retention_apply() -> int:
    """Purge messages past their channel's retention (beat, nightly); safe to repeat."""
    return messages_retention_apply(dry_run=False).total
