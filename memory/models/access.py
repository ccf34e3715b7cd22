"""Who read what: the audit trail (auditlog's entry with the gate's columns, and the chain
head), the API clients that read from outside, and the quarantines of agents and clients."""

from __future__ import annotations

from typing import Any

from auditlog.models import AbstractLogEntry
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


class AuditEntry(AbstractLogEntry):
    """django-auditlog's entry, with the columns a compliance officer filters context reads by."""

    class Outcome(models.TextChoices):
        GRANTED = "granted", "Granted"
        REFUSED = "refused", "Refused"

    actor_label = models.CharField(
        max_length=150, blank=True, db_index=True, help_text="agent:intent, user:alice, api:crm"
    )
    purpose = models.CharField(max_length=200, blank=True)
    partitions = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # The tamper-evident trail (every entry: reads, compliance records and auditlog's change
    # entries), chained per shard: the entry's place (shard, seq), a hash of its fields (with
    # `personal_hash`, the hash of the personal ones erasure may blank, folded in), the chain
    # hash of the entry before it, and its own keyed chain hash over all of that. `object_repr`
    # stays outside every hash, so erasure can scrub names. See memory/audit.py.
    shard = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    seq = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    personal_hash = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["content_type", "object_id", "-timestamp"]),
            models.Index(fields=["actor_label", "-timestamp"]),
            models.Index(fields=["action", "-timestamp"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq"], name="audit_entry_one_per_place")
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new entry joins the chain as it is inserted, in one transaction with its shard head."""
        if self._state.adding and self.seq is None:
            from memory.audit.writing import entry_insert_linked

            # On PostgreSQL one statement takes a shard head and inserts the entry linked to it.
            if kwargs.get("using") in (None, "default") and entry_insert_linked(self):
                return
            with transaction.atomic(using=kwargs.get("using"), savepoint=False):
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)

    def _save_table(self, *args: Any, **kwargs: Any) -> Any:
        # Django calls this after every pre_save receiver (auditlog's actor, our attribution)
        # has filled the entry in, so the hashes cover what is actually stored.
        if self._state.adding and self.seq is None:
            from memory.audit import entry_chain  # the chain's writer lives with the audit trail

            entry_chain(self)
        return super()._save_table(*args, **kwargs)


class AuditChain(models.Model):
    """The head of one shard of the audit chain: how many entries the shard holds (the
    writers' own counter, checked against the entries found) and its newest chain hash.

    One row per shard; a writer locks the first free one (`SKIP LOCKED`), so concurrent
    readers each advance their own shard instead of queueing on one row.
    """

    shard = models.PositiveSmallIntegerField(unique=True)
    seq = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default="0" * 64)
    prev_hash = models.CharField(
        max_length=64, default="0" * 64, help_text="The chain hash before the newest entry."
    )

    def __str__(self) -> str:
        return f"audit chain shard {self.shard} at #{self.seq}"


class AuditSeal(models.Model):
    """A signed snapshot of every shard's head, chained to the seal before it and exported
    outside the database (RAPPORT_AUDIT_ANCHOR_DIR, Redis), so entries cut from the end of a
    shard, or the whole trail reset, are caught by `audit verify`."""

    sealed_at = models.DateTimeField(default=timezone.now)
    heads = models.JSONField(help_text="shard -> [seq, chain hash]")
    entries = models.PositiveBigIntegerField(help_text="Entries sealed, all shards together.")
    previous = models.CharField(max_length=64, unique=True, help_text="Root of the seal before.")
    root = models.CharField(max_length=64, unique=True)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"audit seal #{self.pk} ({self.entries} entries)"


class ApiClient(models.Model):
    """Another system allowed into the memory through the REST API or the MCP server.

    Only a SHA-256 of its token is kept: a token is 256 random bits, so a plain digest is
    enough to find it and cannot be turned back into it.
    """

    name = models.SlugField(max_length=60, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="Context partitions it may read: profile, identities, messages, business, "
        "emotion, pii.",
    )
    active = models.BooleanField(
        default=True, help_text="Off once revoked: its token stops working."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name


class ActorQuarantine(models.Model):
    """An agent or API client stopped from reading customer context, by the access watch or by
    a person, until a person lifts it. One row per actor label ("agent:responder", "api:crm");
    its history is in the audit trail."""

    actor = models.CharField(max_length=150, unique=True, help_text="agent:responder, api:crm")
    active = models.BooleanField(default=True)
    anomaly = models.CharField(
        max_length=30, blank=True, help_text="Which anomaly put it there, if the watch did."
    )
    reason = models.CharField(max_length=300)
    quarantined_at = models.DateTimeField(default=timezone.now)
    quarantined_by = models.CharField(max_length=150, help_text="The watch, or the person.")
    detection_ms = models.FloatField(
        null=True, blank=True, help_text="From the offending read to the quarantine."
    )
    lifted_at = models.DateTimeField(
        null=True, blank=True, help_text="Reads before it no longer count towards anomalies."
    )
    lifted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-quarantined_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="actor_quarantine_says_why")
        ]

    def __str__(self) -> str:
        state = "quarantined" if self.active else "lifted"
        return f"{self.actor} ({state})"
