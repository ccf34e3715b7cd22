"""In real headless Chromium against a live Daphne server: the report goes live (no endless
"Connecting…"), draws volume, handoffs and reply-time charts with axes, and updates when a new
message arrives; a conversation's trace reads as a timeline beside a timed mood chart.
Screenshots land in artifacts/report.png and artifacts/trace.png."""

from __future__ import annotations

import pytest
from django.utils import timezone

from memory.models import Message
from memory.services.handoffs import conversation_hand_off
from orchestrator.people.clocks import response_clock_start
from orchestrator.people.conversations import conversation_reply_as_person
from tests.console.conftest import PASSWORD
from tests.console.test_browser import (  # noqa: F401 - the live server fixture
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    _post_signed_sms,
    live_url,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def _traffic(base_url: str, boss) -> int:
    """Customers writing in through the signed webhook; one handed to a person who answers."""
    for sender, body in (
        ("+14155550161", "Where is my order 88123? It is late"),
        ("+14155550162", "can I change the delivery address for order 55102"),
        ("+14155550161", "still nothing, this is the worst service ever"),
    ):
        assert _post_signed_sms(base_url, From=sender, Body=body) == 200
    angry = Message.objects.filter(text__startswith="still nothing").get()
    conversation = angry.conversation
    conversation_hand_off(conversation=conversation, reason="upset", requested_by="test")
    response_clock_start(conversation=conversation, waiting_since=timezone.now())
    conversation_reply_as_person(conversation=conversation, user=boss, text="I'm on it.")
    return conversation.pk


def test_report_charts_go_live_and_a_trace_reads_as_a_timeline(live_url, boss):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    conversation_id = _traffic(live_url, boss)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            page.goto(f"{live_url}/console/report/?span=hour")
            page.fill("#id_username", boss.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")

            expect(page.locator("[data-live]")).to_have_text("Live", timeout=15_000)
            volume = page.locator("figure[data-chart=volume] svg.chart")
            expect(volume).to_be_visible()
            expect(volume.locator("rect[height]").first).to_be_attached()
            expect(volume).to_contain_text("inbound messages")  # the y axis title
            expect(volume).to_contain_text("time (per 5 minutes)")
            expect(page.locator("figure[data-chart=handoffs] svg.chart")).to_contain_text(
                "handoffs"
            )
            expect(page.locator("figure[data-chart=automated] svg.chart path")).to_have_count(
                2, timeout=5_000
            )
            expect(page.locator("figure[data-chart=person] svg.chart circle")).to_have_count(1)
            expect(page.locator("[data-figure=inbound]")).to_have_text("3")
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

            # Live: a new message raises the count without a reload.
            assert _post_signed_sms(live_url, From="+14155550163", Body="hello, are you open?")
            expect(page.locator("[data-figure=inbound]")).to_have_text("4", timeout=20_000)

            page.goto(f"{live_url}/console/conversations/{conversation_id}/")
            expect(page.locator("figure[data-chart=sentiment] svg.chart circle")).to_have_count(2)
            expect(page.locator("figure[data-chart=sentiment] svg.chart")).to_contain_text(
                "negative"
            )
            page.locator("details.trace > summary").last.click()
            timeline = page.locator("ol.trace-timeline").last
            expect(timeline).to_be_visible()
            expect(timeline.locator("[data-agent=intent]")).to_contain_text("read messages")
            expect(timeline).to_contain_text("decided")
            page.screenshot(path=str(ARTIFACTS / "trace.png"), full_page=True)
        finally:
            browser.close()
