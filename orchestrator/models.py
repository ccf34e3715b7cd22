"""What the orchestrator did with each inbound message.

One row per inbound message, claimed in the same transaction as the reply, is what makes
"a message is answered at most once" hold when a task runs twice.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from memory.models import Message


class InboundReply(models.Model):
    """The orchestrator's answer to one inbound message: a reply, a handoff, or both."""

    inbound_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="orchestrator_reply"
    )
    reply_message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handed_off = models.BooleanField(default=False)
    responder = models.CharField(max_length=100, help_text="The agent that answered.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "inbound replies"

    def __str__(self) -> str:
        return f"reply to message #{self.inbound_message_id}"
