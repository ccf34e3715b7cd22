"""A database that is down or out of connections gets Twilio a fast 503 with Retry-After (it
retries a 5xx), never a 500, and nothing half-stored."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from memory.models import Message
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


def test_an_sms_while_the_database_is_unavailable_gets_503_with_retry_after(
    twilio_post, monkeypatch
):
    def unavailable(**_: object) -> None:
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr("channels_app.services.sms_receive", unavailable)
    params = sms_params(Body="where is my order?")
    response = twilio_post("/twilio/sms/", params)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Message.objects.filter(provider_id=params["MessageSid"]).exists()
