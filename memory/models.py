"""The customer context graph: customers and identities, conversations and messages,
business state (cases, versioned facts with provenance) and emotion (sentiment readings).

Models hold data and invariants; every change goes through `memory.services`.
"""

from __future__ import annotations

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice"
    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat"


class Customer(models.Model):
    """A person, known across every channel by their identities."""

    display_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(  # noqa: DJ001 - NULL keeps "no CRM id" out of the unique index
        max_length=100, null=True, blank=True, unique=True, help_text="Id in the CRM, if any."
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        help_text="Set when this record was merged into another customer.",
    )
    # Bumped by every write to the partition, so a writer can say which state it decided on.
    profile_version = models.PositiveIntegerField(default=0)
    business_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the customer's personal data was erased."
    )

    class Meta:
        ordering = ["-updated_at"]
        permissions = [
            ("read_context_profile", "Can read customer profiles"),
            ("read_context_identities", "Can read customer identities"),
            ("read_context_messages", "Can read customer messages"),
            ("read_context_business", "Can read customer cases and facts"),
            ("read_context_emotion", "Can read customer sentiment"),
            ("read_context_pii", "Can read raw customer contact details"),
        ]

    def __str__(self) -> str:
        return self.display_name or f"Customer #{self.pk}"


class Identity(models.Model):
    """A way to reach a customer: a phone in E.164, a lower-cased e-mail, or another handle."""

    class Kind(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(
        max_length=254, help_text="Normalised: E.164 phone, lower-case e-mail."
    )
    verified = models.BooleanField(
        default=False, help_text="Seen as the sender of inbound traffic, or imported from a CRM."
    )
    source = models.CharField(max_length=100, blank=True, help_text="How Rapport learned it.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


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

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations")
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
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Kept equal to conversation.customer so a customer's timeline across channels is one query.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
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
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.channel} message #{self.pk}"


class Case(models.Model):
    """A piece of business the customer has with us: an order, a claim, an appointment."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.OPEN, Status.PENDING)

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cases")
    kind = models.CharField(max_length=40, help_text="order, claim, appointment, account, ...")
    reference = models.CharField(max_length=100)
    reference_key = models.CharField(
        max_length=100,
        db_index=True,
        default="",
        editable=False,
        help_text="The reference as letters and digits only, for matching however it is said.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(max_length=300, blank=True)
    source_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    written_version = models.PositiveIntegerField(
        default=0, help_text="The customer's business version its last status change produced."
    )

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "reference"], name="case_unique_reference"
            ),
        ]
        indexes = [
            models.Index(fields=["reference"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Fact(models.Model):
    """One version of something known about a customer or a case, with its provenance.

    Asserting a new value for a key closes the current version (`valid_until`) and links it to
    its successor, so history stays whole and "current" never shows a replaced value.
    """

    class AssertedBy(models.TextChoices):
        AGENT = "agent", "AI agent"
        HUMAN = "human", "Person"
        CUSTOMER = "customer", "Customer (stated)"
        IMPORT = "import", "Import"
        SYSTEM = "system", "System"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="facts")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="facts"
    )
    key = models.CharField(max_length=100)
    value = models.TextField()
    confidence = models.FloatField(default=1.0)
    source_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="facts"
    )
    asserted_by = models.CharField(max_length=10, choices=AssertedBy.choices)
    asserted_by_agent = models.CharField(max_length=100, blank=True)
    asserted_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    written_version = models.PositiveIntegerField(
        default=0, help_text="The customer's business version this write produced."
    )
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        ordering = ["key", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "key"],
                condition=Q(valid_until__isnull=True, case__isnull=True),
                name="fact_one_current_customer_value",
            ),
            models.UniqueConstraint(
                fields=["case", "key"],
                condition=Q(valid_until__isnull=True, case__isnull=False),
                name="fact_one_current_case_value",
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="fact_confidence_between_0_and_1",
            ),
        ]
        indexes = [models.Index(fields=["customer", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    @property
    def is_current(self) -> bool:
        return self.valid_until is None


class SentimentReading(models.Model):
    """How the customer felt in one message."""

    class Label(models.TextChoices):
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="sentiment")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="sentiment_readings"
    )
    label = models.CharField(max_length=10, choices=Label.choices)
    score = models.FloatField(help_text="-1 (very negative) to 1 (very positive).")
    confidence = models.FloatField(default=1.0)
    model_name = models.CharField(max_length=100, blank=True)
    read_at = models.DateTimeField(default=timezone.now, help_text="The message's time.")

    class Meta:
        ordering = ["-read_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=-1) & Q(score__lte=1), name="sentiment_score_in_range"
            ),
        ]
        indexes = [models.Index(fields=["customer", "-read_at"])]

    def __str__(self) -> str:
        return f"{self.label} ({self.score:+.2f})"


class CustomerMerge(models.Model):
    """The record that two customer records were found to be one person."""

    source_customer_id = models.BigIntegerField(help_text="The record merged away.")
    source_display_name = models.CharField(max_length=200, blank=True)
    target = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    merged_by = models.CharField(max_length=150, help_text="Actor label of who merged.")
    reason = models.TextField(blank=True)
    moved = models.JSONField(default=dict, help_text="How many rows of each kind moved.")
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"#{self.source_customer_id} merged into #{self.target_id}"


class Handoff(models.Model):
    """A conversation handed to people: why, when, and who released it back to automation."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for a person"
        TAKEN = "taken", "With a person"
        RELEASED = "released", "Released to automation"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="handoffs"
    )
    reason = models.CharField(max_length=200)
    requested_by = models.CharField(max_length=150, help_text="agent:rules, customer, user:sam")
    trigger_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    from_conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    to_conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="arrived_by_switch"
    )
    handover_summary = models.TextField(blank=True)
    carried_case_ids = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField(null=True, blank=True, help_text="Switch seen to carried.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "channel switches"

    def __str__(self) -> str:
        return f"{self.from_conversation_id} -> {self.to_conversation_id}"


class WriteConflict(models.Model):
    """Two writers changed the same thing from different versions; how it was settled."""

    class Resolution(models.TextChoices):
        KEPT_NEWER = "kept_newer", "Kept the newer statement"
        APPLIED = "applied", "Applied the incoming write"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    partition = models.CharField(max_length=20)
    key = models.CharField(max_length=150)
    writer = models.CharField(max_length=150)
    attempted_value = models.TextField()
    kept_value = models.TextField()
    expected_version = models.PositiveIntegerField()
    actual_version = models.PositiveIntegerField()
    resolution = models.CharField(max_length=12, choices=Resolution.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partition}.{self.key}: {self.resolution}"


class IntentCorrection(models.Model):
    """A person's correction of the intent predicted for a message: a training example."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="intent_corrections"
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


class MergeProposal(models.Model):
    """A suspicion that two customer records are one person, for a person to decide."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    other_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    evidence_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "other_customer"],
                condition=Q(status="pending"),
                name="merge_proposal_one_pending_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge #{self.other_customer_id} into #{self.customer_id}? ({self.status})"


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
