"""The channels app's rows: idempotency keys for webhook deliveries that are not messages
(a message is stored once by its own unique provider id), and the console's working state:
agent presence, reply drafts awaiting approval, response clocks for SLA targets.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookReceipt(models.Model):
    """One provider delivery, claimed atomically so a retry on any web process is a no-op."""

    class Source(models.TextChoices):
        TWILIO_IDEMPOTENCY_TOKEN = "twilio-token", "Twilio idempotency token"
        SMS_STATUS = "sms-status", "SMS status callback"
        CALL_STATUS = "call-status", "Call status callback"

    source = models.CharField(max_length=20, choices=Source.choices)
    key = models.CharField(max_length=300, help_text="Token, or MessageSid:status, CallSid:status.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="webhook_receipt_unique_key"),
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"


class AgentPresence(models.Model):
    """Whether a human agent can take conversations now, and how many at once."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        BUSY = "busy", "Busy"
        AWAY = "away", "Away"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AWAY)
    capacity = models.PositiveSmallIntegerField(
        default=3, help_text="How many conversations the agent works at once."
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "agent presence"
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="presence_capacity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class ReplyDraft(models.Model):
    """A reply automation wrote in approval mode, held until a person approves or edits it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        SENT = "sent", "Approved and sent"
        DISCARDED = "discarded", "Discarded"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="reply_drafts"
    )
    inbound_message = models.ForeignKey(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    author_agent = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    edited = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    sent_message = models.OneToOneField(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status="pending"),
                name="reply_draft_one_pending_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"draft for conversation #{self.conversation_id} ({self.status})"


class ResponseClock(models.Model):
    """One promise to answer a waiting customer in time (the SLA timer): the first human
    answer after a handoff, or the next one after the customer writes again."""

    class Kind(models.TextChoices):
        FIRST = "first", "First response"
        NEXT = "next", "Next response"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        ANSWERED = "answered", "Answered"
        RELEASED = "released", "Released to automation"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="response_clocks"
    )
    handoff = models.ForeignKey(
        "memory.Handoff", on_delete=models.CASCADE, related_name="response_clocks"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    channel = models.CharField(max_length=10)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who answered, or who had the conversation when the clock ran out.",
    )
    breached_at = models.DateTimeField(
        null=True, blank=True, help_text="When supervisors were alerted that it ran out."
    )

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state="running"),
                name="response_clock_one_running_per_conversation",
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} response for conversation #{self.conversation_id} ({self.state})"

    @property
    def met(self) -> bool | None:
        """Answered in time (True), late or ran out (False), or still open (None)."""
        if self.answered_at is not None:
            return self.answered_at <= self.due_at
        return False if self.breached_at is not None else None


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
    quarantined = models.BooleanField(
        default=False, help_text="Set by the access watch: its reads are refused until cleared."
    )
    quarantine_reason = models.CharField(max_length=300, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_lifted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name
