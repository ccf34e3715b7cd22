"""Twilio Messaging webhooks: inbound SMS and delivery status callbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twilio.twiml.messaging_response import MessagingResponse

from channels_app import services
from channels_app.webhooks import validation
from channels_app.webhooks.responses import bad_request, twiml_response
from channels_app.webhooks.security import twilio_webhook
from memory.identities import InvalidAddress

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Store the SMS as it arrived and answer an empty <Response/> at once: recording it (the
    customer, the conversation, the audit entry) and the reply are the worker's."""
    fields = request.POST
    refused = validation.refusal(form=fields, query=request.GET, rules=validation.SMS_INBOUND)
    if refused is not None:
        return refused
    media = [
        {"url": fields[f"MediaUrl{n}"], "content_type": fields.get(f"MediaContentType{n}", "")}
        for n in range(int(fields.get("NumMedia", "").strip() or 0))
        if fields.get(f"MediaUrl{n}")
    ]
    try:
        services.sms_accept(
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
    refused = validation.refusal(form=fields, query=request.GET, rules=validation.SMS_STATUS)
    if refused is not None:
        return refused
    message_id = request.GET.get("message", "").strip()
    services.sms_status_record(
        message_sid=fields["MessageSid"],
        status=fields["MessageStatus"].strip().lower(),
        error_code=fields.get("ErrorCode", ""),
        message_id=int(message_id) if message_id else None,
    )
    return twiml_response(MessagingResponse())
