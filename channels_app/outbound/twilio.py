"""SMS through Twilio's Messages API, with a status callback so delivery reports come back."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels_app.outbound.backends import Addressing, Delivery, SendFailed

if TYPE_CHECKING:
    from twilio.http import HttpClient

    from memory.models import Message

REQUEST_TIMEOUT_SECONDS = 10.0
# How many of the recipient's latest messages `find_sent` looks through, and how much clock
# difference between our claim and Twilio's date_created it allows.
FIND_SENT_LIMIT = 50
CLOCK_SLACK = dt.timedelta(minutes=2)


def transport() -> HttpClient:
    """The HTTP client the Twilio SDK talks through: the one seam tests replace."""
    return TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)


def status_callback_url(message: Message) -> str:
    """Where Twilio reports delivery; our id rides along so early reports find the message."""
    return f"{settings.RAPPORT_PUBLIC_URL}/twilio/sms/status/?message={message.pk}"


def twilio_client() -> Client:
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=transport())


class TwilioBackend:
    name = "twilio"

    def find_sent(
        self, *, message: Message, addressing: Addressing, since: dt.datetime
    ) -> Delivery | None:
        """Did Twilio take this message in an attempt that began at `since`? Its latest
        messages to the recipient with this body created since then (Twilio's Messages API
        has no idempotency key, so the list is the only witness). Raises SendFailed when
        Twilio cannot be asked."""
        try:
            client = twilio_client()
            recent = client.messages.list(to=addressing.recipient, limit=FIND_SENT_LIMIT)
        except TwilioRestException as error:
            raise SendFailed(str(error.msg), code=str(error.code)) from error
        except (TwilioException, OSError) as error:
            raise SendFailed(f"could not reach Twilio: {error}") from error
        for sent in recent:
            created = sent.date_created
            if sent.body == message.text and (created is None or created >= since - CLOCK_SLACK):
                return Delivery(provider_id=sent.sid, status=str(sent.status or "queued"))
        return None

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery:
        options: dict[str, str] = {"to": addressing.recipient, "body": message.text}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            options["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            options["from_"] = settings.TWILIO_FROM_NUMBER or addressing.sender
        if settings.RAPPORT_PUBLIC_URL:
            options["status_callback"] = status_callback_url(message)
        try:
            client = twilio_client()
            created = client.messages.create(**options)
        except TwilioRestException as error:
            # 429 and 5xx are Twilio being busy; any other 4xx will fail the same way again.
            permanent = error.status < 500 and error.status != 429
            raise SendFailed(str(error.msg), permanent=permanent, code=str(error.code)) from error
        except (TwilioException, OSError) as error:
            raise SendFailed(f"could not reach Twilio: {error}") from error
        return Delivery(provider_id=created.sid, status=str(created.status or "queued"))
