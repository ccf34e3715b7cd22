"""Inbound SMS through HTTP: signatures, storage once, hand-off after commit, limits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from channels_app.models import WebhookReceipt
from memory.models import Channel, Message
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import PUBLIC_URL, sms_params

pytestmark = pytest.mark.django_db


def test_signed_sms_is_stored_answered_with_empty_twiml_and_replied_after_commit(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    params = sms_params(
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaContentType0="image/jpeg",
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = twilio_post("/twilio/sms/", params)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own TwiML
    assert root.tag == "Response" and len(root) == 0
    inbound = Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])
    assert inbound.customer == customer
    assert inbound.text == params["Body"]
    assert inbound.channel_metadata["media"] == [
        {"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"}
    ]
    assert callbacks  # the hand-off to the orchestrator ran only after commit
    reply = PipelineRun.objects.get(inbound_message=inbound).reply_message
    assert reply.direction == Message.Direction.OUTBOUND
    assert reply.text.startswith("Hi Ana, thanks for your message")
    assert reply.delivery_status == Message.DeliveryStatus.SENT


def test_nothing_is_handed_on_before_commit(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        twilio_post("/twilio/sms/", sms_params())
    assert len(callbacks) == 1
    assert not PipelineRun.objects.exists()


def test_retried_sms_is_stored_once_and_answered_200(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    params = sms_params()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = twilio_post("/twilio/sms/", params)
    after_first = len(callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = twilio_post("/twilio/sms/", params)
    assert first.status_code == second.status_code == 200
    assert Message.objects.filter(provider_id=params["MessageSid"]).count() == 1
    assert after_first and not callbacks  # nothing is handed on for the retry
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1


def test_twilio_idempotency_token_is_claimed_once(
    twilio_post, customer, django_capture_on_commit_callbacks
):
    params = sms_params()
    headers = {"I-Twilio-Idempotency-Token": "token-abc"}
    with django_capture_on_commit_callbacks(execute=True):  # recorded after commit
        twilio_post("/twilio/sms/", params, headers=headers)
        twilio_post("/twilio/sms/", params, headers=headers)
    assert WebhookReceipt.objects.filter(key="token-abc").count() == 1
    assert Message.objects.filter(provider_id=params["MessageSid"]).count() == 1


def test_wrong_token_is_refused_and_stores_nothing(twilio_post):
    response = twilio_post("/twilio/sms/", sms_params(), token="not-the-token")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_tampered_field_is_refused(client):
    from tests.channels_app.conftest import sign

    params = sms_params()
    signature = sign(PUBLIC_URL + "/twilio/sms/", params)
    params["Body"] = "Refund me 1000 dollars"
    response = client.post("/twilio/sms/", params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_missing_signature_is_refused(client):
    response = client.post("/twilio/sms/", sms_params())
    assert response.status_code == 403


def test_signature_is_checked_against_the_public_url_behind_a_proxy(twilio_post, settings):
    # Twilio signed the public https URL; the request reached us as http://testserver.
    params = sms_params()
    assert twilio_post("/twilio/sms/", params).status_code == 200
    inner = twilio_post("/twilio/sms/", sms_params(), signed_url="http://testserver/twilio/sms/")
    assert inner.status_code == 403
    settings.RAPPORT_PUBLIC_URL = "https://tunnel.example.net#rc=3&ct=1000"
    tunnel = twilio_post(
        "/twilio/sms/", sms_params(), signed_url="https://tunnel.example.net/twilio/sms/"
    )
    assert tunnel.status_code == 200


def test_signature_covers_parameters_twilio_adds_to_the_query(client):
    from tests.channels_app.conftest import sign

    params = sms_params()
    path = "/twilio/sms/?channel=demo"
    signature = sign(PUBLIC_URL + path, params)
    assert client.post(path, params, headers={"X-Twilio-Signature": signature}).status_code == 200
    forged = client.post(
        "/twilio/sms/?channel=other", params, headers={"X-Twilio-Signature": signature}
    )
    assert forged.status_code == 403


def test_missing_fields_get_400(twilio_post):
    params = sms_params()
    del params["From"]
    response = twilio_post("/twilio/sms/", params)
    assert response.status_code == 400
    assert b"From" in response.content
    assert not Message.objects.exists()


def test_body_over_the_limit_gets_413_before_anything_is_stored(twilio_post, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    response = twilio_post("/twilio/sms/", sms_params(Body="x" * 2100))
    assert response.status_code == 413
    assert not Message.objects.exists()
    assert twilio_post("/twilio/sms/", sms_params(Body="short")).status_code == 200


def test_only_post_is_allowed(client):
    assert client.get("/twilio/sms/").status_code == 405


def test_first_contact_creates_the_customer(twilio_post, django_capture_on_commit_callbacks):
    params = sms_params(From="+14155557777")
    with django_capture_on_commit_callbacks(execute=True):  # recorded after commit
        assert twilio_post("/twilio/sms/", params).status_code == 200
    message = Message.objects.get(provider_id=params["MessageSid"])
    assert message.customer.identities.get().value == "+14155557777"
