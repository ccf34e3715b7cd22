"""Turning journey events into the HTTP requests Twilio and SendGrid would make, signed the
same way, sending them at a rate and measuring how the server answers.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, make_msgid
from urllib.parse import urlencode, urljoin

from twilio.request_validator import RequestValidator

from channels_app.simulator.journeys import Event

REQUEST_TIMEOUT_SECONDS = 20
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Target:
    """Where to send, and what to sign and authenticate with."""

    url: str
    public_url: str
    twilio_token: str
    account_sid: str
    email_user: str
    email_password: str


@dataclass
class Tally:
    """What the run did: requests sent, accepted (2xx), rejected, and how long each took."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    rejections: dict[int, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class TrafficSender:
    """Sends each event as its provider would, recording every request in a Tally."""

    def __init__(self, target: Target, tally: Tally) -> None:
        self.target = target
        self.tally = tally
        self.validator = RequestValidator(target.twilio_token)
        self._email_threads: dict[tuple[str, str], tuple[str, list[str]]] = {}

    def send(self, event: Event) -> None:
        handlers: dict[str, Callable[[Event], None]] = {
            "sms": self._sms,
            "voice": self._call,
            "email": self._email,
        }
        handlers[event.channel](event)

    # Transport ------------------------------------------------------------------------------

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's --url
            urljoin(self.target.url + "/", path.lstrip("/")), data=body, headers=headers
        )
        started = time.perf_counter()
        self.tally.sent += 1
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = Answer(status=response.status, body=response.read())
        except urllib.error.HTTPError as error:
            answer = Answer(status=error.code, body=error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            self.tally.errors += 1
            self.tally.rejected += 1
            return Answer(status=0, body=b"")
        self.tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if 200 <= answer.status < 300:
            self.tally.accepted += 1
        else:
            self.tally.rejected += 1
            self.tally.rejections[answer.status] = self.tally.rejections.get(answer.status, 0) + 1
        return answer

    def _twilio_post(self, path: str, params: dict[str, str]) -> Answer:
        signature = self.validator.compute_signature(self.target.public_url + path, params)
        return self._post(
            path,
            urlencode(params).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            },
        )

    # Channels -------------------------------------------------------------------------------

    def _sms(self, event: Event) -> None:
        sid = "SM" + uuid.uuid4().hex
        self._twilio_post(
            "/twilio/sms/",
            {
                "MessageSid": sid,
                "SmsSid": sid,
                "SmsMessageSid": sid,
                "AccountSid": self.target.account_sid,
                "From": event.sender,
                "To": event.recipient,
                "Body": event.body,
                "NumMedia": "0",
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            },
        )

    def _call(self, event: Event) -> None:
        """A call as Twilio makes it: answer, one spoken turn (following TwiML's Gather action
        and any Redirect), then the completed status callback.
        """
        call = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "AccountSid": self.target.account_sid,
            "From": event.sender,
            "To": event.recipient,
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        answer = self._twilio_post("/twilio/voice/", {**call, "CallStatus": "ringing"})
        next_path = _twiml_next(answer.body)
        turn = {**call, "CallStatus": "in-progress", "SpeechResult": event.speech}
        turn["Confidence"] = "0.9"
        for _ in range(MAX_REDIRECTS):
            if next_path is None or not event.speech:
                break
            reply = self._twilio_post(next_path, turn)
            next_path = _twiml_redirect(reply.body)
        self._twilio_post(
            "/twilio/voice/status/", {**call, "CallStatus": "completed", "CallDuration": "42"}
        )

    def _email(self, event: Event) -> None:
        subject = event.subject or "(no subject)"
        thread = (event.sender.lower(), _subject_root(subject))
        message_id = make_msgid(domain="simulator.rapport.invalid")
        headers = [
            f"Message-ID: {message_id}",
            f"Date: {format_datetime(event.at)}",
            f"From: {event.sender}",
            f"To: {event.recipient}",
            f"Subject: {subject}",
        ]
        previous = self._email_threads.get(thread)
        references = [message_id]
        if previous is not None and subject.lower().startswith("re:"):
            last_id, chain = previous
            headers += [f"In-Reply-To: {last_id}", f"References: {' '.join(chain)}"]
            references = [*chain, message_id]
        self._email_threads[thread] = (message_id, references)
        fields = {
            "headers": "\n".join(headers) + "\n",
            "from": event.sender,
            "to": event.recipient,
            "subject": subject,
            "text": event.body,
            "envelope": f'{{"to":["{event.recipient}"],"from":"{event.sender}"}}',
            "charsets": '{"to":"UTF-8","from":"UTF-8","subject":"UTF-8","text":"UTF-8"}',
            "spam_score": "0.0",
            "SPF": "pass",
        }
        boundary = "rapport-" + uuid.uuid4().hex
        credentials = f"{self.target.email_user}:{self.target.email_password}".encode()
        self._post(
            "/email/inbound/",
            multipart(fields, boundary),
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": "Basic " + base64.b64encode(credentials).decode(),
            },
        )


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    parts: list[bytes] = []
    for name, value in fields.items():
        parts += [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="{name}"'.encode(),
            b"",
            value.encode(),
        ]
    parts += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(parts)


def _subject_root(subject: str) -> str:
    root = subject.strip()
    while root.lower().startswith(("re:", "fw:", "fwd:")):
        root = root.split(":", 1)[1].strip()
    return root.lower()


def _twiml(body: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(body)  # noqa: S314 - TwiML from the server under test
    except ET.ParseError:
        return None


def _twiml_next(body: bytes) -> str | None:
    """Where Twilio would post the caller's speech: the Gather action, or a Redirect."""
    root = _twiml(body)
    if root is None:
        return None
    gather = root.find("Gather")
    if gather is not None and gather.get("action"):
        return gather.get("action")
    return _twiml_redirect(body)


def _twiml_redirect(body: bytes) -> str | None:
    root = _twiml(body)
    redirect = root.findtext("Redirect") if root is not None else None
    return redirect.strip() if redirect else None
