"""The conversation page puts the agent trace in words, as a timeline (agent, what it read,
what it found, when and how long, then the decision), and hands the sentiment chart its
readings with their times."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from channels_app.templatetags.trace_timeline import agent_findings, decision_summary
from memory.models import Message
from orchestrator.intelligence.api import classify_intent, classify_sentiment
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


def test_the_trace_reads_as_a_timeline_and_the_mood_chart_gets_timed_readings(
    twilio_post, boss, client_as, django_capture_on_commit_callbacks
):
    classify_intent("warm up")  # a warm server, so no agent times out loading its model
    classify_sentiment("warm up")
    with django_capture_on_commit_callbacks(execute=True):
        for body in ("Where is my order 88123? It is late", "this is useless, still nothing"):
            answer = twilio_post("/twilio/sms/", sms_params(From="+14155550150", Body=body))
            assert answer.status_code == 200
    message = Message.objects.filter(direction="inbound").latest("sent_at")

    html = (
        client_as(boss)
        .get(reverse("console:conversation", args=[message.conversation_id]))
        .content.decode()
    )

    timelines = re.findall(r'<ol class="trace-timeline".*?</ol>', html, re.S)
    assert len(timelines) == 2  # one per inbound message
    steps = "".join(timelines)
    for agent in ("intent", "sentiment"):
        assert f'data-agent="{agent}"' in steps
    assert "read messages" in steps
    assert re.search(r"intent \w+ \(\d+% sure\)", steps)
    assert re.search(r"mood (negative|neutral|positive) \(score", steps)
    assert re.search(r'<span class="when">\d\d:\d\d:\d\d\.\d{3}</span>', steps)
    assert "decided" in steps and '"findings"' not in steps  # words, the JSON is tucked away
    points = re.findall(
        r'<li data-point data-at="([^"]+)" data-score="(-?[\d.]+)" data-label="(\w+)"', html
    )
    assert points and all(re.match(r"\d{4}-\d\d-\d\dT", at) for at, _, _ in points)
    assert 'data-chart="sentiment"' in html and "/static/console/charts.js" in html


def test_an_agent_the_page_does_not_know_is_still_put_in_words():
    step = SimpleNamespace(
        name="returns",
        output={
            "findings": {"eligible": True, "window_days": 30, "items": ["case", "cable"]},
            "writes": [{"kind": "fact", "key": "return_window", "value": "30 days"}],
        },
    )
    assert agent_findings(step) == [
        "eligible: True",
        "window days: 30",
        "items: case, cable",
        "proposes return_window: 30 days",
    ]
    trace = SimpleNamespace(decision={"route": "hand_off", "template": "handoff"})
    assert decision_summary(trace) == "handed to a person"
