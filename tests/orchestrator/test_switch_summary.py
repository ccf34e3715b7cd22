"""The channel-switch summary is made when the customer switches (before a call's greeting),
and it is read: by the greeter (what they were in the middle of, never their words), by the
agents' context packs, by the turn right after the switch, by the console and the admin."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import User
from django.test import Client

from memory.actors import AgentActor, Partition
from memory.models import Channel, ChannelSwitch, Conversation, Message
from memory.roles import SUPERVISORS, roles_ensure
from memory.selectors import context_read
from memory.watch import actor_quarantine
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import new_sid, sms_params

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "+14155550101"
READS_BUSINESS = AgentActor(name="responder", scopes=frozenset({Partition.BUSINESS}))
READS_WORDS = AgentActor(
    name="connect", scopes=frozenset({Partition.BUSINESS, Partition.MESSAGES, Partition.PII})
)


@pytest.fixture(autouse=True)
def _patient_deadline(settings):
    settings.VOICE_REPLY_DEADLINE_SECONDS = 30


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    return ET.fromstring(response.content)  # noqa: S314 - our own TwiML


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


@pytest.fixture
def texted_about_a_rebooking(twilio_post, customer) -> Message:
    params = sms_params(Body="I need to move my booking to Wednesday afternoon", From=CALLER)
    assert twilio_post("/twilio/sms/", params).status_code == 200
    inbound = Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert run.decision["intent"] == "appointment_change", run.decision
    return inbound


def test_switch_is_summarised_before_the_greeting_which_names_what_they_were_doing(
    twilio_post, texted_about_a_rebooking
):
    call_sid = new_sid("CA")
    root = twiml(twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing")))

    greeting = root.findtext("Gather/Say")
    assert greeting.startswith("Hi Ana, I can see you were just texting us")
    assert "appointment change" in greeting
    # The greeter holds profile and business only: the customer's own words are not said.
    assert "Wednesday" not in greeting
    voice = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    switch = ChannelSwitch.objects.get(to_conversation=voice)
    assert switch.from_conversation == texted_about_a_rebooking.conversation
    assert switch.topic == "appointment_change"
    assert "Last said: I need to move my booking to Wednesday afternoon" in (
        switch.handover_summary
    )
    greeted = voice.messages.get(author_agent="voice-greeter")
    assert switch.created_at <= greeted.created_at


def test_yes_after_the_switch_continues_the_topic_on_the_call(
    twilio_post, texted_about_a_rebooking
):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing"))
    root = twiml(
        twilio_post(
            "/twilio/voice/gather/?turn=1",
            call_params(call_sid, SpeechResult="yes I'm calling about my booking change"),
        )
    )

    said = Message.objects.get(channel=Channel.VOICE, provider_id=f"{call_sid}:1")
    run = PipelineRun.objects.get(inbound_message=said)
    assert run.decision["carried_topic"] == "appointment_change"
    assert run.decision["intent"] == "appointment_change"
    assert run.decision["route"] == "reply"
    assert root.find("Gather") is not None
    assert "rephrase" not in (root.findtext("Gather/Say") or "").casefold()


def test_agents_read_the_handover_in_their_context_by_scope(twilio_post, texted_about_a_rebooking):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing"))
    voice = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    work = f"conversation:{voice.pk}"

    business = context_read(
        actor=READS_BUSINESS,
        customer=voice.customer_id,
        partitions={Partition.BUSINESS},
        purpose="test",
        correlation_id=work,
    )
    assert business.handover is not None
    assert business.handover.to_conversation_id == voice.pk
    assert business.handover.topic == "appointment_change"
    assert business.handover.summary == ""  # the words need `messages`
    assert "Moved from sms, in the middle of appointment change." in business.render_text()

    words = context_read(
        actor=READS_WORDS,
        customer=voice.customer_id,
        partitions=READS_WORDS.scopes,
        purpose="test",
        correlation_id=work,
    )
    assert "Wednesday afternoon" in words.handover.summary
    rendered = words.render_text()
    # What they last said is in the pack once, among their turns, not again in the summary.
    assert rendered.count("I need to move my booking") == 1
    assert "Continued from" not in rendered


def test_console_and_admin_show_the_handover(twilio_post, texted_about_a_rebooking):
    call_sid = new_sid("CA")
    twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing"))
    voice = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    switch = ChannelSwitch.objects.get(to_conversation=voice)
    boss = User.objects.create_user("boss", is_staff=True, is_superuser=True)
    boss.groups.add(roles_ensure()[SUPERVISORS])
    client = Client()
    client.force_login(boss)

    page = client.get(f"/console/conversations/{voice.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-handover="{switch.pk}"' in html
    assert "appointment_change" in html and "Continued from SMS conversation" in html

    admin_page = client.get(f"/admin/memory/channelswitch/{switch.pk}/change/")
    assert admin_page.status_code == 200
    assert "appointment_change" in admin_page.content.decode()


def test_a_quarantined_handover_still_lets_the_call_be_greeted(
    twilio_post, texted_about_a_rebooking
):
    actor_quarantine(actor="agent:handover", reason="test", quarantined_by="user:sam")
    call_sid = new_sid("CA")
    root = twiml(twilio_post("/twilio/voice/", call_params(call_sid, CallStatus="ringing")))

    assert root.findtext("Gather/Say").startswith("Hi Ana")
    voice = Conversation.objects.get(channel=Channel.VOICE, thread_key=call_sid)
    assert not ChannelSwitch.objects.filter(to_conversation=voice).exists()
