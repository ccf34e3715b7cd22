"""A database that is down or out of connections gets Twilio a fast 503 with Retry-After (it
retries a 5xx), never a 500, and nothing half-stored; once a probe finds the server unreachable
every request is refused at once (no wait on the pool) until a probe finds it back."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from channels_app import overload, services
from memory.models import Message
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


def test_an_sms_while_the_database_is_unavailable_gets_503_with_retry_after(
    twilio_post, monkeypatch
):
    def unavailable(**_: object) -> None:
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr("channels_app.services.sms_accept", unavailable)
    params = sms_params(Body="where is my order?")
    response = twilio_post("/twilio/sms/", params)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Message.objects.filter(provider_id=params["MessageSid"]).exists()


@pytest.fixture
def database_reachable(monkeypatch):
    """The breaker's probe answered by the test; the breaker closed again afterwards."""
    state = {"reachable": True, "probes": 0}

    def probe() -> bool:
        state["probes"] += 1
        return bool(state["reachable"])

    monkeypatch.setattr(overload.breaker, "probe", probe)
    monkeypatch.setattr(overload, "PROBE_EVERY_SECONDS", 0.0)
    yield state
    overload.breaker._open_since = None


def test_a_database_found_unreachable_is_answered_503_at_once_until_it_is_back(
    twilio_post, monkeypatch, database_reachable, client, django_capture_on_commit_callbacks
):
    real_receive = services.sms_accept

    def unreachable(**_: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "sms_accept", unreachable)
    database_reachable["reachable"] = False
    first = sms_params(Body="where is my order?")
    assert twilio_post("/twilio/sms/", first).status_code == 503
    assert overload.breaker.is_open

    # While it is open no request reaches a view (nor waits on the pool): 503 at once.
    monkeypatch.setattr(services, "sms_accept", real_receive)
    second = sms_params(Body="where is my order?")
    refused = twilio_post("/twilio/sms/", second)
    assert refused.status_code == 503 and refused["Retry-After"] == "5"
    assert not Message.objects.filter(provider_id=second["MessageSid"]).exists()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "down"

    # Back: the next request's probe closes the breaker, and Twilio's redelivery is stored once.
    database_reachable["reachable"] = True
    with django_capture_on_commit_callbacks(execute=True):  # recorded after commit
        assert twilio_post("/twilio/sms/", second).status_code == 200
        assert not overload.breaker.is_open
        assert twilio_post("/twilio/sms/", second).status_code == 200
    assert Message.objects.filter(provider_id=second["MessageSid"]).count() == 1


def test_a_busy_pool_with_the_server_up_opens_no_breaker(
    twilio_post, monkeypatch, database_reachable
):
    def pool_exhausted(**_: object) -> None:
        raise OperationalError("couldn't get a connection after 3.00 sec")

    monkeypatch.setattr(services, "sms_accept", pool_exhausted)
    assert twilio_post("/twilio/sms/", sms_params()).status_code == 503
    assert not overload.breaker.is_open
    assert database_reachable["probes"] == 1
