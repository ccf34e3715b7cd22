"""The work people do on a conversation: where it stands (open, snoozed, resolved with a
wrap-up), their private notes to each other, and the labels they sort it by."""

from __future__ import annotations

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ConversationWork(models.Model):
    """Where a conversation stands for the people working it. Absent means open; a new
    inbound turn after `changed_at` reopens a snoozed or resolved one (see the selectors)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SNOOZED = "snoozed", "Snoozed"
        RESOLVED = "resolved", "Resolved"

    conversation = models.OneToOneField(
        "memory.Conversation", on_delete=models.CASCADE, related_name="work"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "conversation work state"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False),
                name="conversation_work_snooze_has_time",
            )
        ]
        indexes = [models.Index(fields=["status", "changed_at"])]

    def __str__(self) -> str:
        return f"conversation #{self.conversation_id} {self.status}"


class WrapUp(models.Model):
    """What a person recorded when resolving a conversation: the disposition and a note."""

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="wrap_ups"
    )
    disposition = models.CharField(max_length=60)
    note = models.TextField(blank=True, max_length=2000)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["conversation", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.disposition} on conversation #{self.conversation_id}"


class ConversationNote(models.Model):
    """A private note between people about a conversation: never sent to the customer, and
    never in an agent's context pack."""

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"note on conversation #{self.conversation_id}"


class ConversationLabel(models.Model):
    """A label people sort conversations by (`vip`, `billing`); one of each per conversation."""

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="labels"
    )
    name = models.SlugField(max_length=40)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "name"], name="label_once_per_conversation"
            )
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


# Every change people make here is in the audit trail; a note's words stay out of it (the
# trail is kept longer than the notes, and a masked half would still say too much).
for _model in (ConversationWork, WrapUp, ConversationLabel):
    if not auditlog.contains(_model):
        auditlog.register(_model)
if not auditlog.contains(ConversationNote):
    auditlog.register(ConversationNote, exclude_fields=["text"])
