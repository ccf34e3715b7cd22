"""The first responder: replies from gated context, hands off on request, replies once."""

from __future__ import annotations

import pytest

from memory.models import AuditEntry, Channel, Message
from memory.services import case_open
from orchestrator import pipeline
from orchestrator.models import InboundReply
from orchestrator.tasks import message_process_inbound

pytestmark = pytest.mark.django_db


def test_reply_names_the_customer_and_open_case_from_gated_context(customer, inbound_sms):
    case_open(customer=customer, kind="order", reference="88123")
    inbound = inbound_sms(provider_id="SM1")

    reply = pipeline.message_process(message_id=inbound.pk)

    assert reply is not None and not reply.hand_off
    assert reply.text == (
        "Hi Ana, thanks for your message about order 88123. "
        "We have it and will get back to you shortly."
    )
    entry = AuditEntry.objects.filter(actor_label="agent:first-responder").get()
    assert sorted(entry.partitions) == ["business", "profile"]
    assert entry.outcome == AuditEntry.Outcome.GRANTED


def test_stranger_gets_a_plain_acknowledgement(inbound_sms):
    inbound = inbound_sms(sender="+14155558888", provider_id="SM2")
    reply = pipeline.message_process(message_id=inbound.pk)
    assert reply is not None
    assert reply.text.startswith("Thanks for your message.")


@pytest.mark.parametrize(
    "text",
    ["Can I talk to a human please", "AGENT", "I want a representative", "let me speak to someone"],
)
def test_asking_for_a_person_hands_off(customer, inbound_sms, text):
    inbound = inbound_sms(text=text, provider_id=f"SM-{hash(text)}")
    reply = pipeline.message_process(message_id=inbound.pk)
    assert reply is not None and reply.hand_off
    assert InboundReply.objects.get(inbound_message=inbound).handed_off


def test_task_run_twice_replies_once(customer, inbound_sms, django_capture_on_commit_callbacks):
    inbound = inbound_sms(provider_id="SM3")
    with django_capture_on_commit_callbacks(execute=True):
        first = message_process_inbound.delay(inbound.pk).get()
        second = message_process_inbound.delay(inbound.pk).get()
    assert first is not None and second is None
    outbound = Message.objects.filter(direction=Message.Direction.OUTBOUND)
    assert outbound.count() == 1
    assert outbound.get().delivery_status == Message.DeliveryStatus.SENT


def test_the_claim_decides_even_when_the_early_check_is_raced(customer, inbound_sms, monkeypatch):
    inbound = inbound_sms(provider_id="SM4")
    assert pipeline.message_process(message_id=inbound.pk) is not None
    # A second run that passed its early check before the first committed still loses.
    monkeypatch.setattr(
        pipeline.InboundReply.objects, "filter", lambda **kw: InboundReply.objects.none()
    )
    assert pipeline.message_process(message_id=inbound.pk) is None
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).count() == 1


def test_outbound_messages_are_not_answered(customer, inbound_sms):
    inbound = inbound_sms(provider_id="SM5")
    reply = pipeline.message_process(message_id=inbound.pk)
    assert pipeline.message_process(message_id=reply.message_id) is None


def test_call_greeting_uses_name_and_open_case(customer):
    case_open(customer=customer, kind="order", reference="88123")
    assert pipeline.call_greeting(customer_id=customer.pk) == (
        "Hi Ana, are you calling about order 88123?"
    )
    entry = AuditEntry.objects.get(actor_label="agent:voice-greeter")
    assert "greet" in entry.purpose


def test_voice_channel_reply_is_recorded_as_spoken(customer):
    from memory.services import message_record_inbound

    inbound = message_record_inbound(
        channel=Channel.VOICE,
        sender="+14155550101",
        recipient="+14155550000",
        text="where is my order",
        provider_id="CA1:1",
        thread_key="CA1",
    ).message
    reply = pipeline.message_process(message_id=inbound.pk)
    stored = Message.objects.get(pk=reply.message_id)
    assert stored.delivery_status == Message.DeliveryStatus.SENT
    assert stored.channel_metadata["spoken"] is True


def test_handed_off_conversation_gets_no_more_automated_replies(customer, inbound_sms):
    first = inbound_sms(text="can I talk to a human please")
    assert pipeline.message_process(message_id=first.pk).hand_off is True
    conversation = first.conversation
    conversation.refresh_from_db()
    assert conversation.mode == conversation.Mode.HANDED_OFF
    assert conversation.handoffs.get().trigger_message_id == first.pk

    follow_up = inbound_sms(text="hello? anyone there?")

    assert pipeline.message_process(message_id=follow_up.pk) is None
    assert not Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        sent_at__gt=follow_up.sent_at,
    ).exists()
