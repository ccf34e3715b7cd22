"""The report's charts: inbound volume per channel, handoffs and reply times, counted from the
traffic that came in through the signed webhooks, bucketed on the clock, and on a page that
goes live (its script connects) and shows the person's own presence."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.console.selectors.report import CHART_SPANS, report_charts
from orchestrator.models import PipelineRun
from orchestrator.people.clocks import response_clock_start
from orchestrator.people.conversations import conversation_reply_as_person
from orchestrator.people.queue import presence_set
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


def _sms(twilio_post, sender: str, body: str) -> None:
    answer = twilio_post("/twilio/sms/", sms_params(From=sender, Body=body))
    assert answer.status_code == 200


def _figures(html: str) -> dict:
    found = re.search(r'<script id="report-figures" type="application/json">(.*?)</script>', html)
    assert found is not None, "the report carries its chart figures"
    return json.loads(found.group(1))


def test_report_charts_count_webhook_traffic_handoffs_and_person_reply_time(
    twilio_post, handed_off, boss, client_as, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _sms(twilio_post, "+14155550140", "Where is my order 88123? It is late")
        _sms(twilio_post, "+14155550141", "can I change my delivery address")
    conversation = handed_off(sender="+14155550142", text="I want a person now")
    clock = response_clock_start(conversation=conversation, waiting_since=timezone.now())
    assert clock is not None
    conversation_reply_as_person(conversation=conversation, user=boss, text="Hi, I'm here.")

    page = client_as(boss).get(reverse("console:report"), {"span": "hour"})

    assert page.status_code == 200
    html = page.content.decode()
    figures = _figures(html)
    assert figures["span"] == "last hour, per 5 minutes"
    assert len(figures["starts"]) == 12 and figures["bucket_seconds"] == 300
    # Two messages went through the pipeline from the webhook; the handed-off one was stored
    # by the fixture without one. All of them in the newest bucket.
    assert sum(figures["volume"]["sms"]) == PipelineRun.objects.count() == 2
    assert figures["volume"]["sms"][-1] == 2
    assert figures["handoffs"][-1] == 1 and sum(figures["handoffs"]) == 1
    assert figures["automated_p50_s"][-1] is not None and figures["automated_p50_s"][-1] > 0
    assert figures["person_p50_min"][-1] is not None and figures["person_p50_min"][-1] < 1
    assert figures["person_target_min"] is not None and figures["person_target_min"] > 0
    # Drawn in the page by the console's own script (no CDN), each chart in its figure.
    for chart in ("volume", "handoffs", "automated", "person"):
        assert f'data-chart="{chart}"' in html
    assert "/static/console/charts.js" in html and "cdn" not in html.lower()


def test_the_report_shows_the_persons_own_presence(boss, client_as):
    presence_set(user=boss, status="online")
    html = client_as(boss).get(reverse("console:report")).content.decode()
    assert re.search(r'<option value="online"\s+selected', html)


def test_buckets_sit_on_the_clock_and_leave_older_traffic_out(handed_off):
    conversation = handed_off(sender="+14155550143")
    now = timezone.now()
    response_clock_start(conversation=conversation, waiting_since=now - dt.timedelta(minutes=3))
    old = handed_off(sender="+14155550144")
    response_clock_start(conversation=old, waiting_since=now - dt.timedelta(hours=3))

    charts = report_charts(span=CHART_SPANS["hour"], now=now)

    assert all(start.second == 0 and start.minute % 5 == 0 for start in charts.starts)
    assert charts.starts[-1] <= now < charts.starts[-1] + dt.timedelta(minutes=5)
    assert charts.handoff_total == 1  # the one three hours ago is outside the hour
    day = report_charts(span=CHART_SPANS["day"], now=now)
    assert day.handoff_total == 2 and all(s.minute == 0 for s in day.starts)
    assert day.person_p50_min == (None,) * 24  # nobody answered: no line, not a zero
