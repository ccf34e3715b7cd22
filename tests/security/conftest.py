"""Fixtures for the edge tests: signed webhook traffic and API clients, as the channel and API
tests make them, and fresh failed-credential counts for every test."""

from __future__ import annotations

from tests.api.conftest import api_as, issue_token, known_customer  # noqa: F401 - fixtures
from tests.channels_app.conftest import (  # noqa: F401 - fixtures: signed webhook traffic
    _auth_failures_forgotten,
    _channel_settings,
    email_post,
    twilio_post,
)
