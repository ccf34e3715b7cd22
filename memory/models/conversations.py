"""Conversations (one per channel thread) and their messages; handoffs to people; channel
switches; a person's correction of a message's intent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from memory.models.customers import Channel


class Conversation(models.Model):
    """One channel thread: an SMS number pair, a call, an e-mail thread."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        CLOSED = "closed", "Closed"

    class Mode(models.TextChoices):
        """Who answers: automation, automation with a person approving, or a person."""

        AUTOMATED = "automated", "Automated"
        APPROVAL = "approval", "Automated, replies approved by a person"
        HANDED_OFF = "handed_off", "Handed off, waiting for a person"
        WITH_PERSON = "with_person", "With a person"

    HUMAN_MODES = (Mode.HANDED_OFF, Mode.WITH_PERSON)

    customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="conversations"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    thread_key = models.CharField(
        max_length=300, help_text="What makes this thread: number pair, CallSid, e-mail root id."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    subject = models.CharField(max_length=300, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="continued_by",
        help_text="The conversation this one continues (channel switch or a reopened thread).",
    )
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.AUTOMATED)
    summary = models.TextField(blank=True, help_text="Written when the conversation goes quiet.")
    summarized_at = models.DateTimeField(null=True, blank=True)
    channel_metadata = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "thread_key"],
                condition=~Q(status="closed"),
                name="conversation_one_open_thread",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-last_message_at"]),
            models.Index(fields=["status", "last_message_at"]),
            # Search (issue 15): newest first, stopping at the page's end.
            models.Index(fields=["-last_message_at", "-id"], name="conversation_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} conversation #{self.pk}"

    @property
    def automation_may_reply(self) -> bool:
        return self.mode not in self.HUMAN_MODES


class Message(models.Model):
    """One turn in a conversation, inbound from the customer or outbound to them."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Author(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "AI agent"
        HUMAN = "human", "Human agent"
        SYSTEM = "system", "System"

    class DeliveryStatus(models.TextChoices):
        RECEIVED = "received", "Received"
        PENDING = "pending", "Pending"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="messages"
    )
    # Kept equal to conversation.customer so a customer's timeline across channels is one query.
    customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author = models.CharField(max_length=10, choices=Author.choices)
    author_agent = models.CharField(max_length=100, blank=True, help_text="AI agent name.")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(help_text="What agents and people read: the new part of the turn.")
    raw_text = models.TextField(
        blank=True, help_text="The turn as it arrived, when it differs (quoted e-mail replies)."
    )
    gist = models.TextField(
        blank=True, help_text="What in the turn is worth remembering, without small talk."
    )
    is_filler = models.BooleanField(
        default=False, help_text='Says nothing of note ("ok", an auto-reply, a dropped call).'
    )
    # NULL, not "", means "no provider id": the unique constraint below skips NULLs.
    provider_id = models.CharField(  # noqa: DJ001
        max_length=300,
        null=True,
        blank=True,
        help_text="MessageSid, e-mail Message-ID, CallSid:turn: one delivery, one message.",
    )
    delivery_status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    channel_metadata = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, help_text="When the turn happened.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                condition=Q(provider_id__isnull=False),
                name="message_unique_provider_id",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-sent_at"]),
            models.Index(fields=["conversation", "sent_at"]),
            # Search (issue 15): the newest messages holding a common word are found walking
            # this and stopping at the page's end; rare words go by the trigram index.
            models.Index(fields=["-sent_at", "-id"], name="message_newest_first"),
            # The reliability sweeps (issue 14): stored messages by age, and replies in flight.
            models.Index(fields=["created_at"], name="message_created_at"),
            models.Index(
                fields=["created_at"],
                condition=Q(direction="outbound", delivery_status__in=["pending", "sending"]),
                name="message_outbound_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.channel} message #{self.pk}"


class Handoff(models.Model):
    """A conversation handed to people: why, when, and who released it back to automation."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for a person"
        TAKEN = "taken", "With a person"
        RELEASED = "released", "Released to automation"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="handoffs"
    )
    reason = models.CharField(max_length=200)
    requested_by = models.CharField(max_length=150, help_text="agent:rules, customer, user:sam")
    trigger_message = models.ForeignKey(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
    )
    created_at = models.DateTimeField(default=timezone.now)
    taken_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=~Q(status="released"),
                name="handoff_one_open_per_conversation",
            ),
        ]

    def __str__(self) -> str:
        return f"handoff of conversation #{self.conversation_id} ({self.status})"


class ChannelSwitch(models.Model):
    """The customer moved to another channel: what was carried over, and how fast."""

    customer = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="+")
    from_conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    to_conversation = models.OneToOneField(
        "memory.Conversation", on_delete=models.CASCADE, related_name="arrived_by_switch"
    )
    handover_summary = models.TextField(blank=True)
    # What they were in the middle of, as the orchestrator read it ("booking change"): a
    # label, not their words, so a reader without `messages` (the greeter) may say it.
    topic = models.CharField(max_length=200, blank=True)
    carried_case_ids = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField(null=True, blank=True, help_text="Switch seen to carried.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "channel switches"

    def __str__(self) -> str:
        return f"{self.from_conversation_id} -> {self.to_conversation_id}"


class IntentCorrection(models.Model):
    """A person's correction of the intent predicted for a message: a training example."""

    message = models.ForeignKey(
        "memory.Message", on_delete=models.CASCADE, related_name="intent_corrections"
    )
    predicted_intent = models.CharField(max_length=100, blank=True)
    corrected_intent = models.CharField(max_length=100)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message"], name="intent_correction_one_per_message"),
        ]

    def __str__(self) -> str:
        return f"{self.predicted_intent or '?'} -> {self.corrected_intent}"
