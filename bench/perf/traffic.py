"""Signed Twilio SMS webhooks as Twilio sends them, for the in-process and HTTP phases."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import connection
from django.test import Client
from twilio.request_validator import RequestValidator

from bench.perf.seed import CENTRE_NUMBER
from memory.models import Identity

SMS_PATH = "/twilio/sms/"
ACCOUNT_SID = "AC" + "b" * 32
BENCH_TWILIO_TOKEN = "rapport-benchmark-twilio-token"  # noqa: S105 - a scratch database's token
BENCH_HOST = "bench.rapport.invalid"

# What customers text in during the load phases (written for the benchmark).
INBOUND_TEXTS = (
    "Where is my order? It was due yesterday",
    "Can I change the delivery address please",
    "I want to speak to someone about my bill",
    "My appointment needs moving to Friday",
    "The replacement arrived broken again",
    "thanks, that's sorted",
    "What time will the engineer arrive?",
    "I'd like to cancel my subscription",
)


@dataclass(frozen=True)
class SignedRequest:
    """One webhook ready to send: its form body, headers and MessageSid."""

    sid: str
    body: bytes
    headers: dict[str, str]


def sms_webhook(*, public_url: str, token: str, sender: str, text: str) -> SignedRequest:
    """An inbound SMS webhook signed against `public_url` + the SMS path, as Twilio signs it."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": CENTRE_NUMBER,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(token).compute_signature(public_url + SMS_PATH, params)
    return SignedRequest(
        sid=sid,
        body=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        },
    )


def senders_sample(count: int, *, seed: int) -> list[str]:
    """Phones of seeded customers, spread over the whole graph and different for each seed
    (a phase's messages land on customers the phases before it did not hand to a person)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT value FROM {Identity._meta.db_table} WHERE kind = 'phone' "  # noqa: S608
            "ORDER BY md5(value || %s) LIMIT %s",
            [str(seed), count],
        )
        phones = [str(row[0]) for row in cursor.fetchall()]
    if not phones:
        raise RuntimeError("no seeded customer has a phone")
    return [phones[index % len(phones)] for index in range(count)]


def texts(count: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311
    return [rng.choice(INBOUND_TEXTS) for _ in range(count)]


class InProcessSender:
    """Posts signed webhooks through Django's test client: the real view, no HTTP server."""

    public_url = f"https://{BENCH_HOST}"

    def __init__(self) -> None:
        self.client = Client()

    def send(self, *, sender: str, text: str) -> tuple[str, int]:
        request = sms_webhook(
            public_url=self.public_url, token=BENCH_TWILIO_TOKEN, sender=sender, text=text
        )
        headers = dict(request.headers)
        content_type = headers.pop("Content-Type")
        response = self.client.generic(
            "POST",
            SMS_PATH,
            data=request.body,
            content_type=content_type,
            headers=headers,
            secure=True,
            SERVER_NAME=BENCH_HOST,
        )
        return request.sid, response.status_code
