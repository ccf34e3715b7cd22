"""Customers and their identities (phone in E.164, lower-case e-mail), the merges of records
of one person, and suspicions that two records are one."""

from __future__ import annotations

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

    customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(
        max_length=254, help_text="Normalised: E.164 phone, lower-case e-mail."
    )
    verified = models.BooleanField(
        default=False, help_text="Seen as the sender of inbound traffic, or imported from a CRM."
    )
    source = models.CharField(max_length=100, blank=True, help_text="How Rapport learned it.")
    # Who said this address was theirs before its owner wrote from it: one piece of evidence
    # that the two are one person, never enough alone (memory.services.customer_resolve).
    claimed_by = models.ForeignKey(
        "memory.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The record whose sender claimed this address before it was verified.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class CustomerMerge(models.Model):
    """The record that two customer records were found to be one person."""

    source_customer_id = models.BigIntegerField(help_text="The record merged away.")
    source_display_name = models.CharField(max_length=200, blank=True)
    target = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="merges")
    merged_by = models.CharField(max_length=150, help_text="Actor label of who merged.")
    reason = models.TextField(blank=True)
    moved = models.JSONField(default=dict, help_text="How many rows of each kind moved.")
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"#{self.source_customer_id} merged into #{self.target_id}"


class MergeProposal(models.Model):
    """A suspicion that two customer records are one person, for a person to decide."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    customer = models.ForeignKey("memory.Customer", on_delete=models.CASCADE, related_name="+")
    other_customer = models.ForeignKey(
        "memory.Customer", on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField()
    evidence_message = models.ForeignKey(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The kinds of evidence weighed (memory.services.proposals.LinkEvidence: "reference",
    # "contact", ...): what the pair rests on, for a person and for later evidence.
    evidence = models.JSONField(default=list, blank=True)
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
