"""The simulator against a live server: real HTTP, real signatures, every request accepted."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from channels_app.simulator.journeys import events_merged
from memory.models import Channel, Conversation, Message
from orchestrator.models import PipelineRun

JOURNEYS = [
    {
        "id": "j1",
        "events": [
            {
                "t": "2026-03-01T10:00:00Z",
                "channel": "sms",
                "from": "+14155550101",
                "to": "+14155550000",
                "body": "Hi, order 88123 arrived with a cracked screen",
            },
            {
                "t": "2026-03-02T09:12:00Z",
                "channel": "email",
                "from": "ana@example.com",
                "to": "support@shop.example",
                "subject": "Re: cracked screen",
                "body": "Ship the new one to 9 Elm St.\n\nThanks,\nAna",
            },
            {
                "t": "2026-03-03T17:40:00Z",
                "channel": "voice",
                "from": "+14155550101",
                "to": "+14155550000",
                "speech": "hi I'm calling about the replacement",
            },
        ],
    },
    {
        "id": "j2",
        "events": [
            {
                "t": "2026-03-01T11:00:00Z",
                "channel": "sms",
                "from": "+14155550202",
                "to": "+14155550000",
                "body": "can I talk to a human",
            },
        ],
    },
]


def test_events_of_all_journeys_are_merged_by_time():
    order = [(e.journey_id, e.index) for e in events_merged(JOURNEYS)]
    assert order == [("j1", 0), ("j2", 0), ("j1", 1), ("j1", 2)]


@pytest.mark.django_db(transaction=True)
def test_simulator_replays_journeys_as_signed_traffic_against_a_live_server(
    live_server, settings, tmp_path
):
    settings.RAPPORT_PUBLIC_URL = ""
    journey_file = tmp_path / "journeys.jsonl"
    journey_file.write_text("\n".join(json.dumps(j) for j in JOURNEYS) + "\n")
    out = StringIO()

    call_command("simulate", journeys=str(journey_file), url=live_server.url, rate=0, stdout=out)

    summary = out.getvalue()
    # sms, sms, email, and a call of three requests (answer, one turn, status)
    assert "sent 6, accepted 6, rejected 0" in summary
    assert "p95" in summary
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 4
    assert PipelineRun.objects.count() == 4
    call = Conversation.objects.get(channel=Channel.VOICE)
    assert call.status == Conversation.Status.CLOSED
    assert call.channel_metadata["duration_seconds"] == 42


@pytest.mark.django_db(transaction=True)
def test_simulator_traffic_with_the_wrong_token_is_rejected(live_server, settings):
    settings.RAPPORT_PUBLIC_URL = ""
    out = StringIO()
    settings.TWILIO_AUTH_TOKEN = "server-token"
    from channels_app.simulator import traffic

    original = traffic.RequestValidator
    try:
        traffic.RequestValidator = lambda token: original("simulator-has-another-token")
        call_command("simulate", demo=True, url=live_server.url, rate=0, stdout=out)
    finally:
        traffic.RequestValidator = original
    assert "rejected 0" not in out.getvalue()
    assert "403" in out.getvalue()
    assert not Message.objects.filter(channel=Channel.SMS).exists()
