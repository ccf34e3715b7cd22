"""Voice through HTTP: the greeting, spoken turns within the deadline, late replies picked up
by redirect, handoff to a person, and the status callback closing the call. TwiML is parsed.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from concurrent.futures import Future, wait

import pytest
from django.db import connection

from memory.models import Channel, Conversation, Customer, Message
from memory.services import case_open
from orchestrator import pipeline
from orchestrator.models import AgentRun, PipelineRun
from orchestrator.pipeline import inline, voice
from tests.channels_app.conftest import new_sid

CALLER = "+14155550101"


@pytest.fixture(autouse=True)
def _patient_deadline(settings):
    """A turn's answer is awaited as long as a loaded test machine needs; the tests of a slow
    answer set a short deadline and hold the work themselves."""
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


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own TwiML
    assert root.tag == "Response"
    return root


@pytest.mark.django_db
def test_inbound_call_is_greeted_by_name_and_case_and_listened_to(twilio_post, customer):
    case_open(customer=customer, kind="order", reference="88123")
    call_sid = new_sid("CA")

    root = twiml(twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing")))

    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech"
    assert gather.get("action") == "/twilio/voice/gather/?turn=1"
    assert gather.findtext("Say") == "Hi Ana, are you calling about order 88123?"
    conversation = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    assert conversation.customer == customer
    greeting = conversation.messages.get()
    assert greeting.author_agent == "voice-greeter"


@pytest.mark.django_db
def test_retried_call_webhook_continues_the_same_conversation(twilio_post, customer):
    call_sid = new_sid("CA")
    first = twiml(twilio_post("/twilio/voice/", call_params(call_sid)))
    second = twiml(twilio_post("/twilio/voice/", call_params(call_sid)))
    assert ET.tostring(first) == ET.tostring(second)
    assert Conversation.objects.filter(thread_key=call_sid).count() == 1
    assert Message.objects.filter(conversation__thread_key=call_sid).count() == 1


@pytest.mark.django_db(transaction=True)
def test_spoken_turn_is_stored_once_and_answered_with_say_and_next_gather(twilio_post, customer):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid))
    turn = call_params(call_sid, SpeechResult="where is my replacement phone", Confidence="0.91")

    root = twiml(twilio_post("/twilio/voice/gather/?turn=1", turn))
    retried = twiml(twilio_post("/twilio/voice/gather/?turn=1", turn))

    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == "/twilio/voice/gather/?turn=2"
    assert gather.findtext("Say").startswith("Hi Ana, thanks for your message")
    assert ET.tostring(root) == ET.tostring(retried)
    inbound = Message.objects.get(channel=Channel.VOICE, provider_id=f"{call_sid}:1")
    assert inbound.text == "where is my replacement phone"
    assert inbound.channel_metadata["confidence"] == pytest.approx(0.91)
    assert (
        Message.objects.filter(
            conversation=inbound.conversation, direction=Message.Direction.OUTBOUND
        ).count()
        == 2
    )  # the greeting and one reply, though the turn arrived twice


@pytest.mark.django_db(transaction=True)
def test_asking_for_a_person_dials_the_handoff_number(twilio_post, customer):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid))
    turn = call_params(call_sid, SpeechResult="I want to speak to someone", Confidence="0.8")
    root = twiml(twilio_post("/twilio/voice/gather/?turn=1", turn))
    assert root.findtext("Dial") == "+14155559999"
    assert root.find("Gather") is None


@pytest.mark.django_db(transaction=True)
def test_handoff_enqueues_when_only_a_queue_is_configured(twilio_post, customer, settings):
    settings.HUMAN_HANDOFF_NUMBER = ""
    settings.HUMAN_HANDOFF_QUEUE = "support"
    call_sid = new_sid("CA")
    turn = call_params(call_sid, SpeechResult="representative", Confidence="0.8")
    root = twiml(twilio_post("/twilio/voice/gather/?turn=1", turn))
    assert root.findtext("Enqueue") == "support"


class HeldVoiceWork:
    """The voice path's pipeline held until released, counting the worker threads that run it,
    so a test can wait for every one of them to finish (no sleeps, nothing left running)."""

    def __init__(self, monkeypatch) -> None:
        self.release = threading.Event()
        self.started = 0
        self.finished = 0
        self.changed = threading.Condition()
        real_process = inline.message_process

        def held_process(*, message_id: int):
            with self.changed:
                self.started += 1
            try:
                self.release.wait(30)
                return real_process(message_id=message_id)
            finally:
                with self.changed:
                    self.finished += 1
                    self.changed.notify_all()

        # The voice worker runs the message through the pipeline's fast path (its inline module).
        monkeypatch.setattr(inline, "message_process", held_process)
        # Every piece of work handed to the voice worker threads, to wait for all of it (and
        # the connection each closes after it) before the test's database is flushed.
        self.futures: list[Future[None]] = []
        real_submit = voice._voice_workers.submit

        def tracked_submit(*args, **kwargs):
            future = real_submit(*args, **kwargs)
            self.futures.append(future)
            return future

        monkeypatch.setattr(voice._voice_workers, "submit", tracked_submit)

    def join(self, timeout: float = 30) -> None:
        """Wait until every piece of voice work has ended, its connection closed."""
        _, running = wait(self.futures, timeout=timeout)
        assert not running, f"{len(running)} voice worker(s) still running"

    def finish_all(self, *, expected: int) -> None:
        """Let the held work go and wait until `expected` runs of it have ended."""
        self.release.set()
        with self.changed:
            assert self.changed.wait_for(lambda: self.finished >= expected, timeout=30)
        assert self.started == expected
        self.join()


@pytest.fixture
def held_voice_work(monkeypatch):
    held = HeldVoiceWork(monkeypatch)
    yield held
    held.release.set()  # never leave a worker thread waiting, or writing, past the test
    held.join()


@pytest.mark.django_db(transaction=True)
def test_slow_reply_holds_the_caller_and_is_picked_up_by_redirect(
    twilio_post, customer, settings, held_voice_work
):
    settings.VOICE_REPLY_DEADLINE_SECONDS = 0.2
    # A loaded machine must not time the agents out (a handoff, not the reply looked for).
    settings.ORCHESTRATOR_AGENT_TIMEOUT_SECONDS = 60
    call_sid = new_sid("CA")
    turn = call_params(call_sid, SpeechResult="is my order shipped", Confidence="0.7")

    held = twiml(twilio_post("/twilio/voice/gather/?turn=1", turn))
    assert held.findtext("Say") == "One moment please."
    redirect = held.findtext("Redirect")
    assert redirect == "/twilio/voice/reply/?turn=1&attempt=1"

    held_voice_work.finish_all(expected=1)
    picked = twiml(twilio_post(redirect, call_params(call_sid)))
    assert picked.find("Gather") is not None, ET.tostring(picked)
    assert picked.find("Gather").findtext("Say").startswith("Hi Ana, thanks")
    inbound = Message.objects.get(provider_id=f"{call_sid}:1")
    assert (
        Message.objects.filter(
            conversation=inbound.conversation, direction=Message.Direction.OUTBOUND
        ).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
def test_a_turn_twilio_sends_again_while_it_is_answered_runs_one_pipeline(
    twilio_post, customer, settings, held_voice_work
):
    settings.VOICE_REPLY_DEADLINE_SECONDS = 0.2
    call_sid = new_sid("CA")
    turn = call_params(call_sid, SpeechResult="is my order shipped", Confidence="0.7")
    for _ in range(4):  # Twilio retries the gather webhook while the first is still working
        assert twiml(twilio_post("/twilio/voice/gather/?turn=1", turn)).findtext("Redirect")

    held_voice_work.finish_all(expected=4)
    picked = twiml(twilio_post("/twilio/voice/reply/?turn=1&attempt=1", call_params(call_sid)))
    assert picked.find("Gather").findtext("Say").startswith("Hi Ana, thanks")

    inbound = Message.objects.get(provider_id=f"{call_sid}:1")
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.attempts == 1
    assert AgentRun.objects.filter(pipeline_run=run).exists()
    assert not AgentRun.objects.filter(pipeline_run=run).exclude(attempt=1).exists()
    assert (
        Message.objects.filter(
            conversation=inbound.conversation, direction=Message.Direction.OUTBOUND
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_a_call_whose_answer_fails_leaves_no_customer_behind(twilio_post, monkeypatch):
    from channels_app import services

    def greeting_fails(**kwargs):
        raise RuntimeError("context store unavailable")

    monkeypatch.setattr(services, "call_greeting", greeting_fails)
    with pytest.raises(RuntimeError):
        twilio_post("/twilio/voice/", call_params(new_sid("CA"), From="+14155550777"))
    assert not Customer.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_a_reply_that_never_comes_ends_in_a_handoff(twilio_post, customer, monkeypatch):
    from channels_app.webhooks import twilio_voice

    monkeypatch.setattr(
        twilio_voice.services,
        "call_turn_pickup",
        lambda **kw: pipeline.VoiceReply(text="", pending=True),
    )
    root = twiml(twilio_post("/twilio/voice/reply/?turn=1&attempt=3", call_params(new_sid("CA"))))
    assert root.findtext("Dial") == "+14155559999"


@pytest.mark.django_db
def test_gather_without_speech_prompts_again_and_stores_nothing(twilio_post, customer):
    call_sid = new_sid("CA")
    root = twiml(twilio_post("/twilio/voice/gather/?turn=2", call_params(call_sid)))
    assert root.find("Gather").get("action") == "/twilio/voice/gather/?turn=2"
    assert not Message.objects.filter(provider_id__startswith=call_sid).exists()


@pytest.mark.django_db
def test_status_callback_closes_the_call_with_its_duration(twilio_post, customer):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid))
    ringing = call_params(call_sid, CallStatus="in-progress")
    assert twilio_post("/twilio/voice/status/", ringing).status_code == 200
    assert Conversation.objects.get(thread_key=call_sid).status == Conversation.Status.ACTIVE

    done = call_params(call_sid, CallStatus="completed", CallDuration="73")
    assert twilio_post("/twilio/voice/status/", done).status_code == 200
    assert twilio_post("/twilio/voice/status/", done).status_code == 200
    conversation = Conversation.objects.get(thread_key=call_sid)
    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.closed_at is not None
    assert conversation.channel_metadata["duration_seconds"] == 73


@pytest.mark.django_db
def test_voice_webhooks_refuse_bad_signatures_and_missing_fields(twilio_post, client):
    call_sid = new_sid("CA")
    assert client.post("/twilio/voice/", call_params(call_sid)).status_code == 403
    assert twilio_post("/twilio/voice/", call_params(call_sid), token="nope").status_code == 403
    assert twilio_post("/twilio/voice/", {"CallSid": call_sid}).status_code == 400
    assert twilio_post("/twilio/voice/gather/", call_params(call_sid)).status_code == 400
    assert not Conversation.objects.exists()
