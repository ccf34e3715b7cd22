"""The channels app's rows: idempotency keys for webhook deliveries that are not messages
(a message is stored once by its own unique provider id)."""

from __future__ import annotations

from django.db import models
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
