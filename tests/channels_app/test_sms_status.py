"""Delivery status callbacks: deduplicated on (MessageSid, status), never moving backwards."""

from __future__ import annotations

import pytest

from channels_app.models import WebhookReceipt
from memory.models import Message
from memory.services import message_record_outbound

pytestmark = pytest.mark.django_db

SID = "SM" + "d" * 32


@pytest.fixture
def sent_sms(inbound_sms, customer) -> Message:
    conversation = inbound_sms(provider_id="SMin").conversation
    return message_record_outbound(
        conversation=conversation,
        text="Your replacement ships today",
        author=Message.Author.AGENT,
        provider_id=SID,
        delivery_status=Message.DeliveryStatus.QUEUED,
    )


def callback(
    twilio_post, status: str, *, sid: str = SID, path: str = "/twilio/sms/status/", **extra
):
    params = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": "AC" + "1" * 32,
        "From": "+14155550000",
        "To": "+14155550101",
        **extra,
    }
    return twilio_post(path, params)


def test_status_moves_forward(twilio_post, sent_sms):
    for status in ("sent", "delivered", "read"):
        assert callback(twilio_post, status).status_code == 200
        sent_sms.refresh_from_db()
        assert sent_sms.delivery_status == status


def test_out_of_order_callbacks_never_move_status_backwards(twilio_post, sent_sms):
    callback(twilio_post, "delivered")
    callback(twilio_post, "sent")
    callback(twilio_post, "queued")
    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == Message.DeliveryStatus.DELIVERED


def test_failure_with_error_code_is_recorded(twilio_post, sent_sms):
    callback(twilio_post, "sent")
    callback(twilio_post, "undelivered", ErrorCode="30003")
    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == Message.DeliveryStatus.UNDELIVERED
    assert sent_sms.channel_metadata["error_code"] == "30003"


def test_duplicate_callbacks_are_claimed_once(twilio_post, sent_sms):
    assert callback(twilio_post, "sent").status_code == 200
    assert callback(twilio_post, "sent").status_code == 200
    assert WebhookReceipt.objects.filter(key=f"{SID}:sent").count() == 1


def test_callback_that_beats_the_send_task_finds_its_message_by_our_id(twilio_post, sent_sms):
    sent_sms.provider_id = None
    sent_sms.save(update_fields=["provider_id"])
    response = callback(
        twilio_post, "sent", sid="SM" + "e" * 32, path=f"/twilio/sms/status/?message={sent_sms.pk}"
    )
    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.provider_id == "SM" + "e" * 32
    assert sent_sms.delivery_status == Message.DeliveryStatus.SENT


def test_unknown_message_is_acknowledged(twilio_post, db):
    assert callback(twilio_post, "delivered", sid="SM" + "f" * 32).status_code == 200


def test_status_callback_needs_a_signature_and_fields(client, twilio_post, sent_sms):
    assert client.post("/twilio/sms/status/", {"MessageSid": SID}).status_code == 403
    assert twilio_post("/twilio/sms/status/", {"MessageSid": SID}).status_code == 400
