"""Guessing is stopped at every door: wrong passwords lock a username out for an address
(django-axes), and wrong Twilio signatures, e-mail webhook credentials, API tokens and MCP
tokens lock the address out (django-ratelimit) with 429 until the window ends."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from channels_app.api.mcp_server import McpHttpApp
from memory.models import Message
from tests.channels_app.conftest import basic_auth, sms_params

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.RAPPORT_AUTH_FAILURE_RATES = {
        door: f"{LIMIT}/m" for door in settings.RAPPORT_AUTH_FAILURE_RATES
    }
    settings.AXES_FAILURE_LIMIT = LIMIT


def _later(seconds: int):
    """django-ratelimit's clock, moved on past the current window."""
    import time

    now = time.time() + seconds
    return mock.patch("django_ratelimit.core.time.time", return_value=now)


def test_wrong_twilio_signatures_lock_the_address_out_until_the_window_ends(twilio_post):
    for _ in range(LIMIT):
        assert twilio_post("/twilio/sms/", sms_params(), signature="forged").status_code == 403

    locked = twilio_post("/twilio/sms/", sms_params())
    elsewhere = twilio_post("/twilio/sms/", sms_params(), headers={"X-Forwarded-For": "x"})

    assert locked.status_code == 429 and int(locked["Retry-After"]) >= 1
    assert elsewhere.status_code == 429  # the header is not trusted unless configured
    assert not Message.objects.exists()
    with _later(120):
        assert twilio_post("/twilio/sms/", sms_params()).status_code == 200


def test_another_address_is_not_locked_out_by_someone_elses_guesses(client, twilio_post):
    for _ in range(LIMIT):
        twilio_post("/twilio/sms/", sms_params(), signature="forged")
    from tests.channels_app.conftest import PUBLIC_URL, sign

    params = sms_params()
    response = client.post(
        "/twilio/sms/",
        params,
        headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms/", params)},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200


def test_behind_a_proxy_the_configured_header_names_the_address(settings, twilio_post):
    settings.RAPPORT_CLIENT_IP_HEADER = "X-Forwarded-For"
    for _ in range(LIMIT):
        twilio_post(
            "/twilio/sms/",
            sms_params(),
            signature="forged",
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
    blocked = twilio_post("/twilio/sms/", sms_params(), headers={"X-Forwarded-For": "198.51.100.7"})
    other = twilio_post("/twilio/sms/", sms_params(), headers={"X-Forwarded-For": "198.51.100.8"})
    assert (blocked.status_code, other.status_code) == (429, 200)


def test_wrong_email_webhook_credentials_lock_the_address_out(email_post):
    fields = {"from": "Ana <ana@example.com>", "text": "hello"}
    for _ in range(LIMIT):
        assert email_post(fields, auth=basic_auth(password="guess")).status_code == 403

    assert email_post(fields).status_code == 429
    with _later(120):
        assert email_post(fields).status_code == 200


def test_wrong_api_tokens_lock_the_address_out_even_for_the_right_token(api_as, known_customer):
    good = api_as("crm", "profile")
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for _ in range(LIMIT):
        assert guesser.get(f"/api/customers/{known_customer.pk}/").status_code == 401

    refused = good.get(f"/api/customers/{known_customer.pk}/")

    assert refused.status_code == 429 and "Retry-After" in refused
    with _later(120):
        assert good.get(f"/api/customers/{known_customer.pk}/").status_code == 200


def _mcp_post(app: McpHttpApp, token: str, address: str = "192.0.2.1") -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp/",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"testserver")],
        "client": (address, 5000),
    }
    async_to_sync(app)(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_wrong_mcp_tokens_lock_the_address_out(issue_token):
    token = issue_token("assistant", "profile")
    app = McpHttpApp()
    for _ in range(LIMIT):
        assert _mcp_post(app, "guess")[0] == 401

    status, body = _mcp_post(app, token)

    assert status == 429 and b"too many" in body
    assert _mcp_post(app, "guess", address="192.0.2.2")[0] == 401


def _login(client, password: str, username: str = "sam"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_wrong_passwords_lock_the_login_out_then_an_admin_reset_lets_it_in(client):
    User.objects.create_user("sam", password="correct horse battery")
    User.objects.create_user("kim", password="another good secret")
    for _ in range(LIMIT):
        assert _login(client, "guess").status_code in {200, 429}

    locked = _login(client, "correct horse battery")

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Only that username from that address is locked: a colleague at the same desk logs in.
    assert _login(client, "another good secret", username="kim").status_code == 302
    assert AccessAttempt.objects.filter(username="sam").exists()

    call_command("axes_reset_username", "sam")
    assert _login(client, "correct horse battery").status_code == 302


def test_login_lockout_ends_after_the_cool_off(client, settings):
    import datetime as dt

    from django.utils import timezone

    User.objects.create_user("sam", password="correct horse battery")
    for _ in range(LIMIT):
        _login(client, "guess")
    assert _login(client, "correct horse battery").status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - dt.timedelta(hours=1)
    )  # the attempts are older than AXES_COOLOFF_TIME (15 minutes by default)
    assert _login(client, "correct horse battery").status_code == 302


def test_lockout_settings_are_read_from_the_environment():
    from django.conf import settings

    assert set(settings.RAPPORT_AUTH_FAILURE_RATES) == {"twilio", "email", "api", "mcp"}
    assert json.dumps(settings.AXES_LOCKOUT_PARAMETERS) == '[["username", "ip_address"]]'
