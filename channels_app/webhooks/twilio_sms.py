"""Twilio Messaging webhooks: inbound SMS and delivery status callbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twilio.twiml.messaging_response import MessagingResponse

from channels_app import services
from channels_app.webhooks.responses import bad_request, missing_fields, twiml_response
from channels_app.webhooks.security import twilio_webhook
from memory.identities import InvalidAddress

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

MAX_MEDIA = 10


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Store the SMS and answer an empty <Response/> at once; the reply goes out later."""
    fields = request.POST
    missing = missing_fields(fields, "MessageSid", "From", "To")
    if missing is not None:
        return missing
    media = [
        {"url": fields[f"MediaUrl{n}"], "content_type": fields.get(f"MediaContentType{n}", "")}
        for n in range(min(_int(fields.get("NumMedia")), MAX_MEDIA))
        if fields.get(f"MediaUrl{n}")
    ]
    try:
        services.sms_receive(
            message_sid=fields["MessageSid"],
            sender=fields["From"],
            recipient=fields["To"],
            body=fields.get("Body", ""),
            media=media,
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
    except InvalidAddress as error:
        return bad_request(str(error))
    return twiml_response(MessagingResponse())


@twilio_webhook
def sms_status(request: HttpRequest) -> HttpResponse:
    """Apply a delivery status callback; duplicates and late arrivals change nothing."""
    fields = request.POST
    missing = missing_fields(fields, "MessageSid", "MessageStatus")
    if missing is not None:
        return missing
    message_id = request.GET.get("message", "")
    services.sms_status_record(
        message_sid=fields["MessageSid"],
        status=fields["MessageStatus"].strip().lower(),
        error_code=fields.get("ErrorCode", ""),
        message_id=int(message_id) if message_id.isdigit() else None,
    )
    return twiml_response(MessagingResponse())


def _int(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0
