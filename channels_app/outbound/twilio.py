"""SMS through Twilio's Messages API, with a status callback so delivery reports come back."""

from __future__ import annotations

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


def transport() -> HttpClient:
    """The HTTP client the Twilio SDK talks through: the one seam tests replace."""
    return TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)


def status_callback_url(message: Message) -> str:
    """Where Twilio reports delivery; our id rides along so early reports find the message."""
    return f"{settings.RAPPORT_PUBLIC_URL}/twilio/sms/status/?message={message.pk}"


class TwilioBackend:
    name = "twilio"

    def deliver(self, *, message: Message, addressing: Addressing) -> Delivery:
        client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=transport()
        )
        options: dict[str, str] = {"to": addressing.recipient, "body": message.text}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            options["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            options["from_"] = settings.TWILIO_FROM_NUMBER or addressing.sender
        if settings.RAPPORT_PUBLIC_URL:
            options["status_callback"] = status_callback_url(message)
        try:
            created = client.messages.create(**options)
        except TwilioRestException as error:
            # 429 and 5xx are Twilio being busy; any other 4xx will fail the same way again.
            permanent = error.status < 500 and error.status != 429
            raise SendFailed(str(error.msg), permanent=permanent, code=str(error.code)) from error
        except (TwilioException, OSError) as error:
            raise SendFailed(f"could not reach Twilio: {error}") from error
        return Delivery(provider_id=created.sid, status=str(created.status or "queued"))
