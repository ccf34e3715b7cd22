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


class InboundDelivery(models.Model):
    """A provider's inbound message as it arrived, stored before anything else is done with it:
    all the webhook does before it answers. A worker records it as a message (customer,
    conversation, audit entry) and hands it to the pipeline; the sweeper hands on any the
    queue lost. The fields, which hold the customer's words and number, are cleared once the
    message is recorded: from then on the message is the record, under its own retention."""

    channel = models.CharField(max_length=10)
    provider_id = models.CharField(max_length=100, help_text="MessageSid, or the e-mail's id.")
    fields = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(null=True, blank=True)
    refused = models.CharField(max_length=200, blank=True, help_text="Why it is no message.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"], name="inbound_delivery_unique_provider_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="inbound_delivery_unrecorded",
                condition=models.Q(recorded_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_id}"
