"""A busy morning is not an anomaly: ninety different callers in a few minutes quarantine
nobody; and a greeter that is quarantined fails safe: the caller still gets a greeting."""

from __future__ import annotations

import pytest

from memory.models import ActorQuarantine, AuditEntry, Message
from memory.watch import actor_quarantine
from tests.channels_app.conftest import new_sid
from tests.channels_app.test_voice_webhook import call_params, twiml

pytestmark = pytest.mark.django_db


def test_ninety_different_callers_in_a_few_minutes_quarantine_nobody(twilio_post, settings):
    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 50  # the shipped limit, stated here
    for n in range(90):
        params = call_params(new_sid("CA"), From=f"+1415556{n:04d}")
        root = twiml(twilio_post("/twilio/voice/", params))
        assert root.find("Say") is not None or root.find("Gather") is not None
    assert not ActorQuarantine.objects.filter(active=True).exists()
    greeted = AuditEntry.objects.filter(
        actor_label="agent:voice-greeter", outcome=AuditEntry.Outcome.GRANTED
    )
    assert greeted.values("object_id").distinct().count() == 90


def test_a_quarantined_greeter_still_answers_the_call(twilio_post, customer):
    actor_quarantine(actor="agent:voice-greeter", reason="test", quarantined_by="user:sam")
    call_sid = new_sid("CA")
    response = twilio_post("/twilio/voice/", call_params(call_sid))
    assert response.status_code == 200
    greeting = Message.objects.get(conversation__thread_key=call_sid, direction="outbound")
    assert greeting.text == "Thanks for calling. How can I help you today?"
    assert AuditEntry.objects.filter(
        actor_label="agent:voice-greeter", outcome=AuditEntry.Outcome.REFUSED
    ).exists()
