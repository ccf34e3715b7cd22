"""Business state: cases, versioned facts with provenance, write conflicts; and emotion: a
sentiment reading per message."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Case(models.Model):
    """A piece of business the customer has with us: an order, a claim, an appointment."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.OPEN, Status.PENDING)

    customer = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="cases")
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
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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

    customer = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="facts")
    case = models.ForeignKey(
        "memory.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="facts"
    )
    key = models.CharField(max_length=100)
    value = models.TextField()
    confidence = models.FloatField(default=1.0)
    source_message = models.ForeignKey(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="facts"
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
        indexes = [
            models.Index(fields=["customer", "valid_until"]),
            # Search (issue 15): current facts newest first, stopping at the page's end.
            models.Index(
                fields=["-valid_from"],
                condition=Q(valid_until__isnull=True),
                name="fact_current_newest_first",
            ),
        ]

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

    message = models.OneToOneField(
        "memory.Message", on_delete=models.CASCADE, related_name="sentiment"
    )
    customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="sentiment_readings"
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


class WriteConflict(models.Model):
    """Two writers changed the same thing from different versions; how it was settled."""

    class Resolution(models.TextChoices):
        KEPT_NEWER = "kept_newer", "Kept the newer statement"
        APPLIED = "applied", "Applied the incoming write"

    customer = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="+")
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
