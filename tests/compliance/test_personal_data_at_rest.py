"""Customer words stay where the gate guards them: not in Celery's result store, not in the
worker's INFO log; and the summariser reads what it reconciles through its own audited read."""

from __future__ import annotations

import logging

import pytest
import redis
from django.conf import settings as django_settings

from config.celery import app as celery_app
from memory.models import AuditEntry, Conversation, Fact, Message
from orchestrator.models import AgentConfig, AgentRun
from orchestrator.tasks import conversation_wrap_up, message_process_inbound

pytestmark = pytest.mark.django_db

SAID = "Hi, this is Maria Lopez, send it to 12 Oak Street and call me on +1 415 555 0199"
PERSONAL = ("Maria", "Oak Street", "555 0199", "5550199")


@pytest.fixture
def result_store(monkeypatch):
    """Celery's real result store (Redis db of this test run), with inline tasks storing
    their results as a worker's would."""
    if not django_settings.REDIS_URL:
        pytest.skip("the result store under test is Redis")
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.delete(*client.keys("celery-task-meta-*") or ["-"])
    for task in celery_app.tasks.values():
        monkeypatch.setattr(task, "store_eager_result", True, raising=False)
    yield client
    client.delete(*client.keys("celery-task-meta-*") or ["-"])


def test_task_results_hold_ids_and_statuses_not_what_the_customer_said(
    result_store, say, django_capture_on_commit_callbacks
):
    # An external analyst (unreachable: it fails at once) makes the message's agents run as a
    # chord, whose header tasks store their results; built-in analysts alone run in one task.
    AgentConfig.objects.create(
        name="crm-lookup",
        kind=AgentConfig.Kind.HTTP,
        endpoint="http://127.0.0.1:9/",
        scopes=["profile"],
        timeout_seconds=1,
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = say(SAID)
        message_process_inbound.delay(message.pk)

    outputs = " ".join(str(run.output) for run in AgentRun.objects.all())
    assert "Oak Street" in outputs  # the agents did find it: it is kept in their runs
    stored = [result_store.get(key) or b"" for key in result_store.keys("celery-task-meta-*")]
    assert stored, "the chord's header results are in the store"
    for value in stored:
        text = value.decode()
        assert not [word for word in PERSONAL if word in text], text
    # The chord body rebuilt the agents' results from their runs: the reply went out.
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_delivering_a_reply_logs_ids_at_info_and_words_only_at_debug(
    say, caplog, django_capture_on_commit_callbacks
):
    from orchestrator import pipeline

    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        reply = pipeline.message_process(message_id=say(SAID).pk)
    assert reply is not None and reply.message_id is not None
    sent = Message.objects.get(pk=reply.message_id)
    info = [r.getMessage() for r in caplog.records if r.name.startswith("channels_app")]
    assert any(f"#{sent.pk}" in line for line in info)
    for line in info:
        assert sent.text[:20] not in line and "+14155550" not in line, line

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="channels_app.outbound"):
        with django_capture_on_commit_callbacks(execute=True):
            again = pipeline.message_process(message_id=say("and where is order 88123?").pk)
    assert again is not None
    debug = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "+14155550" in debug  # a developer can still see it, at DEBUG


def test_the_summariser_reconciles_from_its_own_audited_read_with_the_scope_it_needs(
    say, monkeypatch
):
    from orchestrator import lifecycle, pipeline

    published: list[object] = []
    monkeypatch.setattr(lifecycle, "publish", published.append)
    message = say("please send it to 9 Elm St. from now on")
    pipeline.message_process(message_id=message.pk)

    status = conversation_wrap_up.delay(message.conversation_id, Conversation.Status.INACTIVE)

    assert status.get() == Conversation.Status.INACTIVE
    read = AuditEntry.objects.filter(actor_label="agent:summarizer").latest("pk")
    assert read.outcome == AuditEntry.Outcome.GRANTED
    # It read the words in clear to file the address, and its read says so.
    assert {"messages", "business", "pii"} <= set(read.partitions)
    assert read.cid == f"conversation:{message.conversation_id}"
    fact = Fact.objects.get(customer=message.customer, key="address", valid_until=None)
    assert fact.value == "9 Elm St"
    # The live event goes to every console watching, agents without `pii` too: masked.
    [event] = published
    assert "9 Elm St" in Conversation.objects.get(pk=message.conversation_id).summary
    assert "9 Elm St" not in str(event)
