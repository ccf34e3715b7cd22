"""Who read what: the audit trail (auditlog's entry with the gate's columns, and the chain
head), the API clients that read from outside, and the quarantines of agents and clients."""

from __future__ import annotations

from auditlog.models import AbstractLogEntry
from django.db import models
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
    # The tamper-evident chain (access and compliance entries): a position, a hash of the
    # entry's non-personal fields, and a keyed hash of that and the previous entry's chain hash.
    # Personal fields (object_repr, changes, additional_data) stay outside it, so erasure may
    # blank them without breaking verification.
    seq = models.PositiveBigIntegerField(null=True, blank=True, unique=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["content_type", "object_id", "-timestamp"]),
            models.Index(fields=["actor_label", "-timestamp"]),
            models.Index(fields=["action", "-timestamp"]),
        ]


class AuditChain(models.Model):
    """The head of the audit chain: how many chained entries the gate has written (its own
    counter, checked against the entries found) and the last entry's chain hash.

    One row; every chained write updates it, so its row lock keeps concurrent writers on a
    single chain.
    """

    seq = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain at #{self.seq}"


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
