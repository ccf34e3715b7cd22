"""A value a customer states is in the context of their very next message, whatever the
channel, and a value they replace is never shown as current, through the real webhooks and
pipeline."""

from __future__ import annotations

import pytest

from memory.actors import AgentActor, Partition
from memory.models import Customer, Fact, Message
from memory.selectors import context_read
from tests.channels_app.conftest import new_sid, sms_params

CALLER = "+14155550101"


def context_of(customer: Customer) -> str:
    """The context the responder gets for the customer's newest message's pipeline run."""
    newest = Message.objects.filter(customer=customer, direction="inbound").latest("pk")
    pack = context_read(
        actor=AgentActor(
            name="responder",
            scopes=frozenset({Partition.PROFILE, Partition.BUSINESS, Partition.MESSAGES}),
        ),
        customer=customer,
        partitions=["profile", "business", "messages"],
        purpose="test: context for the next reply",
        correlation_id=f"message:{newest.pk}",
    )
    return pack.render_text(word_budget=150)


def sms(twilio_post, body: str) -> None:
    response = twilio_post("/twilio/sms/", sms_params(From=CALLER, Body=body))
    assert response.status_code == 200


def spoken(twilio_post, call_sid: str, speech: str) -> None:
    params = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": CALLER,
        "To": "+14155550000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "SpeechResult": speech,
        "Confidence": "0.9",
    }
    assert twilio_post("/twilio/voice/gather/?turn=1", params).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_value_texted_is_in_the_context_of_the_next_call_turn(twilio_post):
    sms(twilio_post, "Could you book me a table in Walnut Creek for the 12th of May please")
    customer = Customer.objects.get(identities__value=CALLER)

    call_sid = new_sid("CA")
    spoken(twilio_post, call_sid, "yes hello I am calling about the table I texted you about")

    text = context_of(customer)
    assert "Walnut Creek" in text
    assert "12th of May" in text


@pytest.mark.django_db(transaction=True)
def test_changed_date_replaces_the_old_one_and_old_turn_is_masked(twilio_post):
    sms(twilio_post, "I'd like to see the flat on the 8th of June, in Fremont.")
    sms(twilio_post, "Hmm, no, actually let's do the 11th of June instead.")
    customer = Customer.objects.get(identities__value=CALLER)

    text = context_of(customer)
    assert "11th of June" in text
    assert "8th of june" not in text.casefold()  # neither as current nor in the old turn
    assert "(since replaced)" in text
    assert "Fremont" in text
    history = Fact.objects.filter(customer=customer, key="date").order_by("valid_from", "pk")
    assert [(f.value, f.valid_until is None) for f in history] == [
        ("8th of June", False),
        ("11th of June", True),
    ]


@pytest.mark.django_db(transaction=True)
def test_place_changed_by_voice_replaces_the_place_texted_before(twilio_post):
    sms(twilio_post, "Can you find me a dentist in San Mateo?")
    call_sid = new_sid("CA")
    spoken(twilio_post, call_sid, "i changed my mind can you look in mountain view instead")
    customer = Customer.objects.get(identities__value=CALLER)

    text = context_of(customer).casefold()
    assert "mountain view" in text
    assert "san mateo" not in text


@pytest.mark.django_db(transaction=True)
def test_value_corrected_within_one_message_is_history_at_once(twilio_post):
    sms(twilio_post, "Please book the viewing for the 14th of May, no sorry, the 15th of May.")
    customer = Customer.objects.get(identities__value=CALLER)

    text = context_of(customer)
    assert "15th of May" in text
    assert "14th of may" not in text.casefold()
    replaced = Fact.objects.get(customer=customer, key="date", value="14th of May")
    assert replaced.valid_until is not None
