"""Every closed conversation gets a summary, calls included (closed by Twilio's status
callback), and a value changed during it reads in its newest form, the old one as replaced."""

from __future__ import annotations

import pytest

from memory.models import Channel, Conversation, Fact
from orchestrator import lifecycle
from tests.channels_app.conftest import new_sid

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "+14155550101"


@pytest.fixture(autouse=True)
def _patient_deadline(settings):
    settings.VOICE_REPLY_DEADLINE_SECONDS = 30


def call_params(call_sid: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": CALLER,
        "To": "+14155550000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        **extra,
    }


def speak(twilio_post, call_sid: str, turn: int, words: str) -> None:
    response = twilio_post(
        f"/twilio/voice/gather/?turn={turn}", call_params(call_sid, SpeechResult=words)
    )
    assert response.status_code == 200, response.content


def test_call_closed_by_status_callback_is_summarised_with_the_rebooking_as_current(
    twilio_post, customer
):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing"))
    speak(twilio_post, call_sid, 1, "I'd like to book an appointment for Tuesday at 10am")
    speak(twilio_post, call_sid, 2, "sorry, can you change that to Wednesday at 2pm instead")
    done = call_params(call_sid, CallStatus="completed", CallDuration="95")
    assert twilio_post("/twilio/voice/status/", done).status_code == 200

    call = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    assert call.status == Conversation.Status.CLOSED
    assert call.channel_metadata["duration_seconds"] == 95
    assert call.summarized_at is not None
    assert call.summary.startswith("Voice conversation: 2 customer turn(s)")
    current = {
        f.key: f.value for f in Fact.objects.filter(customer=customer, valid_until__isnull=True)
    }
    changed = [line for line in call.summary.splitlines() if line.startswith("Now: ")]
    assert changed, call.summary
    # Whatever keys the tagger files them under, the newest form stands and the old is replaced.
    assert any("14:00" in line or "Wednesday" in line for line in changed), call.summary
    for line in changed:
        now, _, replaced = line.partition("(replaced ")
        assert "10:00" not in now and "Tuesday" not in now, line
    assert any("10:00" in line or "Tuesday" in line for line in changed), call.summary
    assert "14:00" in current.values() or any("Wednesday" in v for v in current.values())


def test_a_repeated_status_callback_summarises_once(twilio_post, customer):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing"))
    speak(twilio_post, call_sid, 1, "what time do you open tomorrow")
    done = call_params(call_sid, CallStatus="completed", CallDuration="20")
    twilio_post("/twilio/voice/status/", done)
    call = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    first = (call.summary, call.summarized_at)
    assert first[0]
    twilio_post("/twilio/voice/status/", done)
    lifecycle.conversation_wrap_up(conversation_id=call.pk, status=Conversation.Status.INACTIVE)
    call.refresh_from_db()
    assert (call.summary, call.summarized_at) == first
    assert call.status == Conversation.Status.CLOSED
