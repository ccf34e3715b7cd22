"""Signed webhook traffic for the channel tests, made the way Twilio and SendGrid make it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://cc.example.com"
EMAIL_USER = "sendgrid"
EMAIL_PASSWORD = "parse-secret-42"
BOUNDARY = "xYzZY"


@pytest.fixture(autouse=True)
def _channel_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_FROM_NUMBER = "+14155550000"
    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.RAPPORT_PUBLIC_URL = PUBLIC_URL
    settings.EMAIL_INBOUND_USER = EMAIL_USER
    settings.EMAIL_INBOUND_PASSWORD = EMAIL_PASSWORD
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    settings.OUTBOUND_SMS_BACKEND = "console"
    settings.OUTBOUND_EMAIL_BACKEND = "console"
    settings.HUMAN_HANDOFF_NUMBER = "+14155559999"
    settings.HUMAN_HANDOFF_QUEUE = ""


@pytest.fixture(autouse=True)
def _auth_failures_forgotten(settings):
    """Counts of failed credentials live in the cache, which no rollback undoes: each test
    counts under its own prefix, so no test inherits another's (or another run's) lockout."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"


def sign(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@pytest.fixture
def twilio_post(client: Client) -> Callable[..., object]:
    """POST form fields to a Twilio webhook, signed for the public URL (unless told otherwise)."""

    def post(
        path: str,
        params: dict[str, str],
        *,
        token: str = TWILIO_TOKEN,
        signed_url: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        url = signed_url if signed_url is not None else PUBLIC_URL + path
        sig = signature if signature is not None else sign(url, params, token)
        return client.post(path, params, headers={"X-Twilio-Signature": sig, **(headers or {})})

    return post


def sms_params(**overrides: str) -> dict[str, str]:
    params = {
        "MessageSid": new_sid("SM"),
        "SmsSid": "",
        "AccountSid": "AC" + "1" * 32,
        "From": "+14155550101",
        "To": "+14155550000",
        "Body": "Hi, order 88123 arrived with a cracked screen",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    params["SmsSid"] = params["MessageSid"]
    params.update(overrides)
    return params


def basic_auth(user: str = EMAIL_USER, password: str = EMAIL_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def multipart_body(fields: dict[str, str | bytes]) -> bytes:
    """An Inbound Parse body; bytes values are sent as they are (a non-UTF-8 charset)."""
    lines: list[bytes] = []
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode()
        lines += [
            f"--{BOUNDARY}".encode(),
            f'Content-Disposition: form-data; name="{name}"'.encode(),
            b"",
            raw,
        ]
    lines += [f"--{BOUNDARY}--".encode(), b""]
    return b"\r\n".join(lines)


@pytest.fixture
def email_post(client: Client) -> Callable[..., object]:
    def post(fields: dict[str, str | bytes], *, auth: str | None = None, headers=None):
        extra = {} if auth == "" else {"Authorization": auth or basic_auth()}
        return client.generic(
            "POST",
            "/email/inbound/",
            multipart_body(fields),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={**extra, **(headers or {})},
        )

    return post
