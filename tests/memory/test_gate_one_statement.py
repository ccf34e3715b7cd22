"""The gate's read on PostgreSQL: every partition and the watch's questions in one statement,
handing out exactly the pack the per-partition ORM reads build (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from memory import services
from memory.actors import ALL_PARTITIONS, AgentActor, Partition
from memory.models import Case, Channel, Customer
from memory.selectors import context_read
from memory.selectors import gate as gate_module

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one statement is PostgreSQL's"
    ),
]


@pytest.fixture
def story(customer, inbound_sms) -> tuple[Customer, int]:
    """A customer with something in every partition: two channels and a switch between them,
    an open and a closed case, a replaced fact, moods with a filler turn, a churn signal."""
    start = timezone.now() - dt.timedelta(hours=30)
    first = inbound_sms(text="Hi, order 88123 arrived with a cracked screen", at=start)
    services.sentiment_record(message=first, label="negative", score=-0.6)
    filler = inbound_sms(text="ok", at=start + dt.timedelta(minutes=5))
    services.message_set_gist(message=filler, gist="", is_filler=True)
    services.sentiment_record(message=filler, label="neutral", score=0.0)
    mail = services.message_record_inbound(
        channel=Channel.EMAIL,
        sender="ana@example.com",
        recipient="support@shop.example",
        text="I moved, ship the new one to 9 Elm St. I'll cancel if it is late again.",
        subject="Re: cracked screen",
        sent_at=start + dt.timedelta(hours=2),
    ).message
    services.sentiment_record(message=mail, label="negative", score=-0.3)
    services.customer_signal_record(message=mail, kind="churn_risk", score=0.8)
    case = services.case_open(
        customer=customer, kind="order", reference="88123", title="cracked screen"
    )
    closed = services.case_open(customer=customer, kind="claim", reference="C-77")
    services.fact_assert(
        customer=customer, case=closed, key="status", value="paid", asserted_by="system"
    )
    services.case_set_status(case=closed, status=Case.Status.RESOLVED)
    services.fact_assert(
        customer=customer,
        key="shipping_address",
        value="12 Oak Ave",
        asserted_by="import",
        valid_from=start - dt.timedelta(days=30),
    )
    services.fact_assert(
        customer=customer,
        key="shipping_address",
        value="9 Elm St",
        asserted_by="agent",
        asserted_by_agent="entities",
        source_message=mail,
    )
    services.fact_assert(
        customer=customer,
        case=case,
        key="issue",
        value="cracked screen",
        asserted_by="agent",
        source_message=first,
    )
    services.conversation_record_channel_switch(
        to_conversation=mail.conversation,
        from_conversation=first.conversation,
        handover_summary="Last said: order 88123 arrived with a cracked screen",
        carried_case_ids=[case.pk],
        topic="order_status",
    )
    return customer, mail.pk


@pytest.mark.parametrize(
    "partitions",
    [
        ALL_PARTITIONS,
        frozenset({Partition.BUSINESS}),
        frozenset({Partition.MESSAGES, Partition.EMOTION}),
        frozenset({Partition.PROFILE, Partition.IDENTITIES}),
    ],
    ids=["all", "business", "messages+emotion", "profile+identities"],
)
def test_one_statement_reads_what_the_orm_reads(story, partitions):
    customer, _ = story
    actor = AgentActor(name="parity", scopes=ALL_PARTITIONS)

    def packed(rows: gate_module._Rows) -> dict[str, object]:
        pack = gate_module._assemble(
            rows=rows, asked=partitions, actor=actor, purpose="parity", correlation_id="x"
        )
        return pack.to_json() | {"read_at": None}

    _, one = gate_module._rows_read_one_statement(
        customer=customer.pk, asked=partitions, recent_turns=30, watch_columns=()
    )
    by_orm = gate_module._rows_read_orm(
        customer=Customer.objects.get(pk=customer.pk), asked=partitions, recent_turns=30
    )

    assert packed(one) == packed(by_orm)
    whole = packed(one)
    if Partition.BUSINESS in partitions:
        assert [c["reference"] for c in whole["open_cases"]] == ["88123"]
        assert "12 Oak Ave" in whole["superseded"]
        assert whole["handover"]["topic"] == "order_status"
        assert whole["signals"][0]["kind"] == "churn_risk"
    if Partition.EMOTION in partitions:
        assert whole["emotion"]["label"] == "negative"
        assert len(whole["emotion"]["points"]) == 2  # the filler "ok" leaves the mood alone
    if Partition.PROFILE in partitions:
        assert whole["profile"]["display_name"] == "Ana Ruiz"
        assert whole["versions"]["profile"] == customer.profile_version


def test_an_agents_read_is_one_statement_and_its_audit_entry(story):
    customer, message_id = story
    reader = AgentActor(name="responder", scopes=ALL_PARTITIONS)
    read = {
        "actor": reader,
        "customer": customer.pk,
        "partitions": ALL_PARTITIONS,
        "purpose": "reply to inbound message",
        "correlation_id": f"message:{message_id}",
    }
    context_read(**read)  # the content type cached, as in a running process

    with CaptureQueriesContext(connection) as captured:
        pack = context_read(**read)

    assert len(captured) == 2, [q["sql"][:80] for q in captured.captured_queries]
    assert captured.captured_queries[-1]["sql"].startswith("WITH RECURSIVE")
    assert pack.profile is not None and pack.profile.display_name == "Ana Ruiz"


def test_a_customer_that_is_not_there_is_not_read(db):
    with pytest.raises(Customer.DoesNotExist):
        context_read(
            actor=AgentActor(name="responder", scopes=ALL_PARTITIONS),
            customer=987654321,
            partitions=ALL_PARTITIONS,
            purpose="reply",
            correlation_id="message:1",
        )


@pytest.mark.django_db(transaction=True)
def test_read_entries_may_commit_without_waiting_for_the_disk_and_still_verify(story, settings):
    """RAPPORT_AUDIT_ASYNC_COMMIT: a read's entry, in a transaction of its own, commits without
    the WAL flush (for that transaction only), and the trail verifies as before."""
    from memory.audit import chain_verify
    from memory.models import AuditEntry

    customer, message_id = story
    settings.RAPPORT_AUDIT_ASYNC_COMMIT = True
    reader = AgentActor(name="responder", scopes=ALL_PARTITIONS)
    with CaptureQueriesContext(connection) as captured:
        context_read(
            actor=reader,
            customer=customer.pk,
            partitions=ALL_PARTITIONS,
            purpose="reply to inbound message",
            correlation_id=f"message:{message_id}",
        )

    assert "set_config('synchronous_commit', 'off', true)" in captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)  # local to the entry's own transaction
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("pk")
    assert entry.actor_label == "agent:responder" and entry.seq is not None
    report = chain_verify()
    assert report.problems == () and report.missing == 0


def test_an_agents_read_is_judged_and_counted_in_one_redis_round_trip(story, settings):
    """The watch's windows are read and the read added to them in the same round trip; the
    windows after the read are the ones before it, plus it."""
    import redis as redis_client

    from memory import watch

    if not settings.REDIS_URL:
        pytest.skip("the windows under test live in Redis")
    settings.RAPPORT_ANOMALY_REDIS_URL = settings.REDIS_URL
    customer, message_id = story
    reader = AgentActor(name="responder", scopes=ALL_PARTITIONS)
    trips: list[int] = []
    execute = redis_client.client.Pipeline.execute

    def counted(self, *args, **kwargs):
        trips.append(len(self.command_stack))
        return execute(self, *args, **kwargs)

    watches: list[watch.AgentWatch] = []
    judge = watch.watches_judge

    def kept(**kwargs):
        found = judge(**kwargs)
        watches.extend(w for w in found if w is not None)
        return found

    read = {
        "actor": reader,
        "customer": customer.pk,
        "partitions": ALL_PARTITIONS,
        "purpose": "reply to inbound message",
        "correlation_id": f"message:{message_id}",
    }
    context_read(**read)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis_client.client.Pipeline, "execute", counted)
        patch.setattr(gate_module, "watches_judge", kept)
        context_read(**read)

    assert len(trips) == 1, trips
    (judged,) = watches
    assert judged.after is not None and judged.after.burst == 2
    assert judged.after.customers == 1 and judged.after.refused == 0
