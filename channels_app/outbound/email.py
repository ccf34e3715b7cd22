"""E-mail replies through Django's e-mail backend (SMTP, SendGrid's SMTP relay, console),
threaded into the customer's conversation with In-Reply-To and References.
"""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage

from channels_app.outbound.backends import Addressing, Delivery, SendFailed
from memory.models import Message


class EmailBackend:
    name = "email"

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery:
        message_id = make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None)
        headers = {"Message-ID": message_id}
        if addressing.in_reply_to:
            headers["In-Reply-To"] = addressing.in_reply_to
            headers["References"] = " ".join(
                dict.fromkeys([*addressing.references, addressing.in_reply_to])
            )
        subject = addressing.subject or "Your message"
        if addressing.in_reply_to and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        email = EmailMessage(
            subject=subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[addressing.recipient],
            headers=headers,
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            raise SendFailed(f"recipient refused: {error}", permanent=True) from error
        except (smtplib.SMTPException, OSError) as error:
            raise SendFailed(f"could not send e-mail: {error}") from error
        return Delivery(provider_id=message_id, status=Message.DeliveryStatus.SENT)
