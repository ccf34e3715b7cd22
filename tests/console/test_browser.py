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
            page.screenshot(path=str(ARTIFACTS / "queue-live.png"), full_page=True)

            row.locator("a.cust").click()
            expect(page.locator("#timeline")).to_contain_text("Where is my order 88123?")
            page.click("[data-action=take-over]")
            expect(page.locator("[data-mode]")).to_have_text("With a person")
            page.fill("#reply-text", "Hi Ana, this is Boss. Your parcel left our depot today.")
            page.click("[data-action=reply]")
            expect(page.locator("#timeline")).to_contain_text("Your parcel left our depot today")
            page.screenshot(path=str(ARTIFACTS / "conversation-reply.png"), full_page=True)
        finally:
            browser.close()

    reply = Message.objects.get(direction="outbound", author="human")
    assert (reply.channel, reply.author_user_id) == ("sms", boss.pk)
    assert reply.customer_id == customer.pk
    assert reply.delivery_status == "sent"


def _queue_to_work() -> int:
    """A queue as a team finds it: Ana's SMS handed to people, others waiting, and a few
    conversations automation is answering. Returns Ana's conversation id."""
    _others_waiting()
    for n in range(4):
        message_record_inbound(
            channel="sms",
            sender=f"+1415555061{n}",
            recipient="+14155550000",
            text=f"What time do you open on day {n + 1}?",
            display_name=f"Caller {n + 1}",
        )
    ana = message_record_inbound(
        channel="sms",
        sender="+14155550101",
        recipient="+14155550000",
        text="My parcel 88123 never arrived and I want someone to sort it out",
        display_name="Ana Reyes",
    ).message
    sentiment_record(message=ana, label="negative", score=-0.6)
    conversation_hand_off(
        conversation=ana.conversation, reason="the customer asked for a person", requested_by="t"
    )
    response_clock_start(conversation=ana.conversation, waiting_since=ana.sent_at)
    return ana.conversation_id


def test_a_supervisor_works_a_handed_off_conversation_from_open_to_resolved(live_url, boss):
    """Filter to handed off, take one, reply with a canned response, add a private note,
    resolve with a disposition; another tab on the queue sees the counts change live, and one
    on the report sees the day's resolutions move."""
    from playwright.sync_api import expect, sync_playwright

    from orchestrator.models import CannedResponse, Disposition

    ana_conversation = _queue_to_work()
    # The migration's starting lists, again: a transactional test before this one emptied them.
    canned, _ = CannedResponse.objects.get_or_create(
        title="Checking",
        defaults={"body": "Thanks for waiting. I'm checking the details and will update you."},
    )
    Disposition.objects.get_or_create(name="solved", defaults={"label": "Solved"})

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            page.goto(f"{live_url}/console/")
            page.fill("#id_username", boss.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("[data-live]")).to_have_text("Live", timeout=10_000)

            # Presence set from the top bar (no inline script under the CSP) sticks.
            page.select_option("select[name=status]", "online")
            expect(page.locator(".toast")).to_contain_text("You are online")
            expect(page.locator("select[name=status]")).to_have_value("online")

            expect(page.locator('[data-count="open"]')).to_have_text("7")
            expect(page.locator('[data-count="handed_off"]')).to_have_text("3")
            page.click('.tab[data-view="handed_off"]')
            rows = page.locator("#queue tbody tr")
            expect(rows).to_have_count(3)
            ana_row = rows.filter(has_text="Ana Reyes")
            expect(ana_row).to_contain_text("My parcel 88123 never arrived")
            page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

            # A second tab keeps the queue open while the first works the conversation.
            watcher = context.new_page()
            watcher.goto(f"{live_url}/console/")
            expect(watcher.locator("[data-live]")).to_have_text("Live", timeout=10_000)
            # And a third on the report: the day's resolutions, none yet.
            report = context.new_page()
            report.goto(f"{live_url}/console/report/")
            expect(report.locator("[data-live]")).to_have_text("Live", timeout=10_000)
            expect(report.locator('[data-disposition="solved"]')).to_have_text("0")

            ana_row.locator("a.cust").click()
            expect(page.locator("h1[data-customer-name]")).to_have_text("Ana Reyes")
            page.click("[data-action=take-over]")
            expect(page.locator("[data-mode]")).to_have_text("With a person")
            page.select_option("#canned", str(canned.pk))
            expect(page.locator("#reply-text")).to_have_value(canned.body)
            page.click("[data-action=reply]")
            expect(page.locator(".toast")).to_contain_text("Reply sent by SMS")
            expect(page.locator("#timeline")).to_contain_text(canned.body)

            page.fill("#note-text", "Carrier says the parcel is at the depot; call her Friday")
            page.click("[data-action=note]")
            expect(page.locator("#notes")).to_contain_text("parcel is at the depot")

            page.click("[data-action=resolve-open]")
            page.select_option("#disposition", "solved")
            page.fill("#wrap-note", "Parcel rerouted; new tracking sent by SMS")
            page.screenshot(path=str(ARTIFACTS / "conversation.png"), full_page=True)
            page.click("[data-action=resolve]")
            expect(page.locator(".toast")).to_contain_text(
                f"Conversation #{ana_conversation} resolved"
            )
            expect(page.locator("[data-work-state]")).to_have_text("Resolved")

            # The other tab heard it: the counts moved without a reload.
            expect(watcher.locator('[data-count="resolved"]')).to_have_text("1")
            expect(watcher.locator('[data-count="handed_off"]')).to_have_text("2")
            expect(watcher.locator("#alerts")).not_to_contain_text("Ana Reyes")
            expect(watcher.locator("#alerts")).to_contain_text("Li Wei")
            expect(watcher.locator(f'tr[data-conversation="{ana_conversation}"]')).to_have_count(0)
            watcher.screenshot(path=str(ARTIFACTS / "queue-after.png"), full_page=True)
            # The report heard it too, over the websocket, without a reload.
            expect(report.locator("[data-figure=resolved]")).to_have_text("1", timeout=20_000)
            expect(report.locator('[data-disposition="solved"]')).to_have_text("1")
            report.screenshot(path=str(ARTIFACTS / "report-after-resolve.png"), full_page=True)
        finally:
            browser.close()

    reply = Message.objects.get(direction="outbound", author="human")
    assert reply.text == canned.body and reply.delivery_status == "sent"
    assert not Message.objects.filter(text__contains="call her Friday").exists()


def test_an_agent_is_told_when_a_conversation_is_handed_to_them(live_url, agent):
    """Online, on the queue page: the queue hands them a waiting conversation, and the page
    says so (a toast, with a sound and a desktop notification where allowed)."""
    from playwright.sync_api import expect, sync_playwright

    from orchestrator.people.queue import presence_set, queue_assign_waiting

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{live_url}/console/")
            page.fill("#id_username", agent.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("[data-live]")).to_have_text("Live", timeout=10_000)

            def hand_one_over() -> tuple[int, list[int | None]]:
                presence_set(user=agent, status="online", capacity=2)
                waiting = message_record_inbound(
                    channel="sms",
                    sender="+14155550144",
                    recipient="+14155550000",
                    text="Can a real person help me with my bill?",
                    display_name="Noor Haddad",
                ).message
                conversation_hand_off(
                    conversation=waiting.conversation, reason="asked for a person", requested_by="t"
                )
                try:
                    assigned = [h.assigned_to_id for h in queue_assign_waiting()]
                    return waiting.conversation_id, assigned
                finally:
                    connections.close_all()  # this thread's own, before the test db goes

            # The ORM from another thread: Playwright's loop runs in this one.
            with ThreadPoolExecutor(max_workers=1) as worker:
                conversation_id, assigned = worker.submit(hand_one_over).result(timeout=60)
            assert assigned == [agent.pk]
            expect(page.locator("select[name=status]")).to_have_value("online")
            expect(page.locator(".toast.assigned")).to_contain_text(
                f"Conversation #{conversation_id} was handed to you"
            )
            expect(page.locator("#queue tbody tr", has_text="Noor Haddad")).to_be_visible()
        finally:
            browser.close()
