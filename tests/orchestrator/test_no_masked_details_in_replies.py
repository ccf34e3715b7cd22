"""No customer ever reads a redaction token ("[address-1]", "+1******0101"): the responder,
which is shown contact details masked, words a reply without a value it may not state, and
`message_send` refuses to send a sentence carrying one whoever wrote it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from memory import services
from memory.masked import has_masked_token, masked_tokens
from memory.models import Channel, Fact, Message
from orchestrator.models import ReplyTemplate
from orchestrator.replies import DEFAULT_TEMPLATES
from tests.channels_app.conftest import new_sid, sms_params

PHONE = "+14155550191"
EMAIL = "olivia.stone@example.com"
ADDRESS = "12 Oak Street, Springfield, IL 62704"


@pytest.fixture
def olivia(db):
    olivia = services.customer_create(
        display_name="Olivia Stone",
        identities=[("phone", PHONE), ("email", EMAIL)],
        source="crm",
    )
    services.case_open(customer=olivia, kind="order", reference="60482")
    services.fact_assert(
        customer=olivia, key="address", value=ADDRESS, asserted_by=Fact.AssertedBy.IMPORT
    )
    services.fact_assert(
        customer=olivia,
        key="delivery_address_note",
        value=f"leave with the neighbour at {ADDRESS}",
        asserted_by=Fact.AssertedBy.IMPORT,
    )
    return olivia


@pytest.fixture
def templates_that_state_the_address(db):
    """Every reply offers to state the address on file, as a business might configure it."""
    for name, body in DEFAULT_TEMPLATES.items():
        ReplyTemplate.objects.create(
            name=name, body=body + "[ We have your address as {fact.address}.]"
        )


def outbound_texts() -> list[str]:
    return list(
        Message.objects.filter(direction=Message.Direction.OUTBOUND).values_list("text", flat=True)
    )


def test_masked_tokens_are_recognised_in_every_shape():
    assert masked_tokens("to [address-1], Springfield") == ["[address-1]"]
    assert has_masked_token("call +1******0101 or m***@example.com")
    assert has_masked_token("card [card-2]#2")
    assert not has_masked_token("order 60482 for $12.50, see you at 5pm [sic]")


@pytest.mark.django_db(transaction=True)
def test_no_reply_on_sms_email_or_voice_carries_a_masked_detail(
    olivia,
    templates_that_state_the_address,
    twilio_post,
    email_post,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post(
            "/twilio/sms/",
            sms_params(
                From=PHONE, Body="I moved, please update my address to 12 Oak Street, IL 62704"
            ),
        )
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(From=PHONE, Body="where is order 60482?"))
    with django_capture_on_commit_callbacks(execute=True):
        email_post(
            {
                "from": EMAIL,
                "to": "support@shop.example",
                "subject": "Order 60482",
                "text": "Hi, what address will order 60482 go to? Call me on (415) 555-0191."
                "\n\nThanks,\nOlivia Stone\n",
                "headers": "Message-ID: <olivia-1@example.com>\n",
            }
        )
    call_sid = new_sid("CA")
    call = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": PHONE,
        "To": "+14155550000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    greeting = twilio_post("/twilio/voice/", call)
    turn = twilio_post(
        "/twilio/voice/gather/?turn=1",
        {**call, "SpeechResult": "can you change the address on order 60482", "Confidence": "0.9"},
    )
    spoken = [
        say.text or ""
        for response in (greeting, turn)
        for say in ET.fromstring(response.content).iter("Say")  # noqa: S314 - our own TwiML
    ]

    texts = outbound_texts()
    channels = set(
        Message.objects.filter(direction=Message.Direction.OUTBOUND).values_list(
            "channel", flat=True
        )
    )
    assert channels == {Channel.SMS, Channel.EMAIL, Channel.VOICE}
    assert len(texts) >= 5
    for text in [*texts, *spoken]:
        assert not has_masked_token(text), text
        assert "Oak Street" not in text
    assert any(text.startswith("Hi Olivia") for text in texts)
    # The responder chose the wording without the address; the last guard had nothing to drop.
    assert not Message.objects.filter(channel_metadata__has_key="withheld_masked").exists()


def test_a_person_pasting_a_masked_detail_into_a_reply_does_not_send_it(olivia, say_sms):
    inbound = say_sms("hello?")
    conversation = inbound.conversation

    sent = services.message_send(
        conversation=conversation,
        text="Thanks Olivia. We'll send it to [address-1], Springfield. Anything else?",
        author=Message.Author.HUMAN,
    )

    assert sent.text == "Thanks Olivia. Anything else?"
    assert sent.channel_metadata["withheld_masked"] == 1
    with pytest.raises(services.MaskedDetailInReply):
        services.message_send(conversation=conversation, text="Your number is +1******0191.")
    assert not Message.objects.filter(text__contains="******").exists()


@pytest.fixture
def say_sms(db):
    def record(text: str) -> Message:
        return services.message_record_inbound(
            channel=Channel.SMS, sender=PHONE, recipient="+14155550000", text=text
        ).message

    return record
