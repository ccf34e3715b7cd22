"""SendGrid Inbound Parse webhook: e-mail from customers, authenticated by basic-auth
credentials in the URL and, where the signed-webhook policy is on, an ECDSA signature.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from channels_app import services
from channels_app.inbound_email import (
    InboundEmailInvalid,
    form_fields,
    inbound_email_from_fields,
)
from channels_app.webhooks.responses import bad_request
from channels_app.webhooks.security import sendgrid_webhook
from memory.identities import InvalidAddress


@sendgrid_webhook
def email_inbound(request: HttpRequest) -> HttpResponse:
    """Store the e-mail once in its thread and answer 200 so SendGrid stops retrying."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return bad_request("expected multipart/form-data")
    fields = form_fields(body=request.body, content_type=content_type)
    if not fields.get("email") and not fields.get("from"):
        return bad_request("missing fields: from (or email)")
    try:
        email = inbound_email_from_fields(fields)
        services.email_receive(email=email)
    except (InboundEmailInvalid, InvalidAddress) as error:
        return bad_request(str(error))
    return HttpResponse("ok")
