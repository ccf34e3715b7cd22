"""End to end in real headless Chromium against a live Daphne server (websockets included):
a signed SMS webhook makes the open console show the message, its intent and sentiment
without a reload; taking over and replying sends an SMS to the customer."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from channels.layers import channel_layers
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connections

from memory.models import Message
from memory.services import message_record_inbound, sentiment_record
from memory.services.handoffs import conversation_hand_off
from orchestrator.intelligence.api import classify_intent, classify_sentiment
from orchestrator.people.clocks import response_clock_start
from orchestrator.pipeline import agents as pipeline_agents
from orchestrator.pipeline import voice as pipeline_voice
from tests.channels_app.conftest import PUBLIC_URL, sign, sms_params
from tests.console.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


def _fresh_server_process() -> None:
    """In the forked server: drop what fork copied but cannot work there. Channel layers
    hold Redis connections of this test's event loops; thread pools hold threads that do
    not exist in the child, so agents submitted to them would never run."""
    channel_layers.backends.clear()
    pipeline_agents._agent_threads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="agent")
    pipeline_voice._voice_workers = ThreadPoolExecutor(
        max_workers=8, thread_name_prefix="voice-turn"
    )
    # asgiref's own executor too: if an earlier async test gave it a worker thread, the copy
    # believes it still has one and database_sync_to_async in the consumer never runs.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor.clear()
    AsyncToSync.loop_thread_executors.clear()


@pytest.fixture
def live_url(settings, transactional_db) -> Iterator[str]:
    """Daphne serving the real ASGI app in a child process, forked once the test's settings
    are in place (the test database name included); plain http, so the session cookie may
    not be Secure-only."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # A warm server, as in production: the child inherits the loaded models, so the first
    # message is not judged by an agent timing out while a model loads.
    classify_intent("warm up")
    classify_sentiment("warm up")
    connections.close_all()  # the child must open its own connections, not share ours
    server = DaphneProcess(
        "localhost",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_fresh_server_process,
    )
    server.start()
    if not server.ready.wait(timeout=30):
        server.terminate()
        pytest.fail("the live server did not start")
    yield f"http://localhost:{server.port.value}"
    server.terminate()
    server.join(timeout=10)


def _post_signed_sms(base_url: str, **fields: str) -> int:
    """POST an inbound SMS the way Twilio does, signed for the public URL it is told of."""
    params = sms_params(**fields)
    request = urllib.request.Request(  # noqa: S310 - our own live server
        f"{base_url}/twilio/sms/",
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms/", params),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status


def _others_waiting() -> None:
    """Traffic already in the queue: an angry e-mail and a caller handed to people."""
    for channel, sender, text, mood in (
        (
            "email",
            "li.wei@example.com",
            "Third e-mail about my refund. This is unacceptable.",
            -0.8,
        ),
        ("voice", "+14155550177", "I need to change my delivery address", 0.1),
    ):
        message = message_record_inbound(
            channel=channel,
            sender=sender,
            recipient="support@shop.example",
            text=text,
            display_name="Li Wei" if channel == "email" else "Sam Okafor",
        ).message
        sentiment_record(message=message, label="negative" if mood < 0 else "neutral", score=mood)
        conversation_hand_off(
            conversation=message.conversation, reason="the customer is upset", requested_by="t"
        )
        response_clock_start(conversation=message.conversation, waiting_since=message.sent_at)


def test_a_supervisor_watches_an_sms_arrive_then_takes_over_and_replies(live_url, boss, customer):
    from playwright.sync_api import expect, sync_playwright

    _others_waiting()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            # Generous waits: CI machines are shared, and a slow page is not a broken one.
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            page.goto(f"{live_url}/console/")
            page.fill("#id_username", boss.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("[data-live]")).to_have_text("Live", timeout=10_000)

            assert _post_signed_sms(live_url, Body="Where is my order 88123? It is late") == 200

            row = page.locator("#queue tbody tr", has_text="Where is my order 88123?")
            expect(row).to_be_visible(timeout=15_000)
            expect(row.locator("[data-intent]")).to_have_text("order_status", timeout=15_000)
            expect(row.locator("[data-mood]")).to_have_text(
                re.compile("^(negative|neutral|positive)$"), timeout=15_000
            )
            # Customers waiting for a person stay on top; the automated SMS goes below them.
            expect(page.locator("#queue tbody tr").last).to_contain_text("Where is my order")
            page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

            row.locator("a.cust").click()
            expect(page.locator("#timeline")).to_contain_text("Where is my order 88123?")
            page.click("[data-action=take-over]")
            expect(page.locator("[data-mode]")).to_have_text("With a person")
            page.fill("#reply-text", "Hi Ana, this is Boss. Your parcel left our depot today.")
            page.click("[data-action=reply]")
            expect(page.locator("#timeline")).to_contain_text("Your parcel left our depot today")
            page.screenshot(path=str(ARTIFACTS / "conversation.png"), full_page=True)
        finally:
            browser.close()

    reply = Message.objects.get(direction="outbound", author="human")
    assert (reply.channel, reply.author_user_id) == ("sms", boss.pk)
    assert reply.customer_id == customer.pk
    assert reply.delivery_status == "sent"
