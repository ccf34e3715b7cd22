"""The gate: every context read is scoped, assembled in fixed queries, and audited once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from memory import services
from memory.actors import ALL_PARTITIONS, AgentActor, Partition, UserActor
from memory.models import AuditEntry, Channel, Fact
from memory.selectors import ContextAccessRefused, context_read


def access_entries():
    return AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS)


@pytest.fixture(autouse=True)
def _reads_without_a_run_allowed(settings):
    """These tests read as an agent on its own, for no message or conversation: the watch
    would refuse such a read before serving it (tests/compliance/test_anomaly.py covers that)."""
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False


@pytest.fixture
def history(customer, inbound_sms):
    """Ana's cross-channel story: an order, a replaced address, a mood that sours."""
    start = timezone.now() - dt.timedelta(days=3)
    first = inbound_sms(text="Hi, order 88123 arrived with a cracked screen", at=start)
    services.sentiment_record(message=first, label="negative", score=-0.6)
    mail = services.message_record_inbound(
        channel=Channel.EMAIL,
        sender="ana@example.com",
        recipient="support@shop.example",
        text="I moved, ship the new one to 9 Elm St.",
        subject="Re: cracked screen",
        sent_at=start + dt.timedelta(days=1),
    ).message
    services.sentiment_record(message=mail, label="neutral", score=0.0)
    case = services.case_open(
        customer=customer,
        kind="order",
        reference="88123",
        title="cracked screen",
        source_message=first,
    )
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
    return customer


def test_each_read_writes_exactly_one_access_entry_with_actor_and_purpose(history):
    agent = AgentActor(name="responder", scopes=frozenset({Partition.MESSAGES, Partition.PROFILE}))
    before = access_entries().count()

    pack = context_read(
        actor=agent,
        customer=history,
        partitions=["profile", "messages"],
        purpose="reply to inbound SMS",
        correlation_id="run-42",
    )

    entries = access_entries()
    assert entries.count() == before + 1
    entry = entries.latest("timestamp")
    assert entry.object_pk == str(history.pk)
    assert entry.actor_label == "agent:responder"
    assert entry.actor is None
    assert entry.purpose == "reply to inbound SMS"
    assert entry.partitions == ["messages", "profile"]
    assert entry.outcome == AuditEntry.Outcome.GRANTED
    assert entry.cid == "run-42"
    assert pack.profile is not None and pack.profile.display_name == "Ana Ruiz"
    assert [t.channel for t in pack.turns] == ["email", "sms"]
    assert pack.facts == () and pack.open_cases == ()


def test_out_of_scope_read_is_refused_and_the_refusal_recorded(history):
    agent = AgentActor(name="sentiment", scopes=frozenset({Partition.EMOTION}))

    with pytest.raises(ContextAccessRefused, match="agent:sentiment may not read: pii"):
        context_read(
            actor=agent, customer=history, partitions=["emotion", "pii"], purpose="score mood"
        )

    entry = access_entries().latest("timestamp")
    assert entry.outcome == AuditEntry.Outcome.REFUSED
    assert entry.actor_label == "agent:sentiment"
    assert entry.partitions == ["emotion", "pii"]
    assert entry.additional_data == {"refused": ["pii"]}


def test_user_actor_reads_by_permission_and_is_named_in_the_entry(history, supervisor):
    pack = context_read(
        actor=UserActor(supervisor),
        customer=history,
        partitions=ALL_PARTITIONS,
        purpose="console: open conversation",
    )
    entry = access_entries().latest("timestamp")
    assert entry.actor_id == supervisor.pk and entry.actor_label == "user:sam"
    assert {i.value for i in pack.identities} == {"+14155550101", "ana@example.com"}

    nobody = User.objects.create_user("guest", password="x-very-long-pass")
    with pytest.raises(ContextAccessRefused):
        context_read(
            actor=UserActor(nobody), customer=history, partitions=["profile"], purpose="curiosity"
        )


def test_a_read_needs_a_purpose(history, all_scopes_agent):
    with pytest.raises(ValueError, match="purpose"):
        context_read(actor=all_scopes_agent, customer=history, partitions=["profile"], purpose=" ")


def test_identities_are_masked_without_pii(history):
    agent = AgentActor(name="router", scopes=frozenset({Partition.IDENTITIES}))
    pack = context_read(actor=agent, customer=history, partitions=["identities"], purpose="route")
    values = {i.value for i in pack.identities}
    assert "+14155550101" not in values and "ana@example.com" not in values
    assert values == {"+1******0101", "a***@example.com"}


def test_pack_holds_open_cases_current_facts_turns_and_trend(history, all_scopes_agent):
    pack = context_read(
        actor=all_scopes_agent, customer=history, partitions=ALL_PARTITIONS, purpose="test"
    )
    assert [c.reference for c in pack.open_cases] == ["88123"]
    facts = {(f.case_reference, f.key): f.value for f in pack.facts}
    assert facts == {(None, "shipping_address"): "9 Elm St", ("88123", "issue"): "cracked screen"}
    assert pack.emotion is not None
    assert pack.emotion.label in {"negative", "neutral"}
    assert pack.emotion.direction == "improving"
    assert [p.label for p in pack.emotion.points] == ["negative", "neutral"]


def test_closed_case_and_its_facts_leave_the_pack(history, all_scopes_agent):
    case = history.cases.get()
    services.case_set_status(case=case, status="closed")
    pack = context_read(
        actor=all_scopes_agent, customer=history, partitions=["business"], purpose="test"
    )
    assert pack.open_cases == ()
    assert [f.key for f in pack.facts] == ["shipping_address"]


def test_text_puts_business_state_first_and_respects_the_word_budget(history, all_scopes_agent):
    for n in range(40):
        services.message_record_inbound(
            channel=Channel.SMS,
            sender="+14155550101",
            recipient="+14155550000",
            text=f"chatter number {n} about the weather and nothing in particular",
        )
    pack = context_read(
        actor=all_scopes_agent, customer=history, partitions=ALL_PARTITIONS, purpose="test"
    )
    text = pack.render_text(word_budget=60)
    assert len(text.split()) <= 60
    assert "9 Elm St" in text and "88123" in text
    assert "12 Oak Ave" not in pack.render_text()
    assert text.index("88123") < text.index("chatter")


def test_pack_renders_to_json(history, all_scopes_agent):
    payload = context_read(
        actor=all_scopes_agent, customer=history, partitions=["business"], purpose="test"
    ).to_json()
    assert payload["partitions"] == ["business"]
    assert payload["open_cases"][0]["reference"] == "88123"
    assert isinstance(payload["read_at"], str)


def test_assembly_takes_the_same_queries_however_long_the_history(
    history, all_scopes_agent, django_assert_max_num_queries, django_assert_num_queries
):
    # An agent reads for a message of the customer's, or the watch stops it after one read.
    work = f"message:{history.messages.filter(direction='inbound').earliest('sent_at').pk}"

    def read():
        context_read(
            actor=all_scopes_agent,
            customer=history,
            partitions=ALL_PARTITIONS,
            purpose="query count",
            correlation_id=work,
        )

    read()  # warm the content-type cache
    # One of them reads the handover of a channel switch the customer arrived by.
    with django_assert_max_num_queries(10) as short_history:
        read()
    for n in range(60):
        message = services.message_record_inbound(
            channel=Channel.SMS,
            sender="+14155550101",
            recipient="+14155550000",
            text=f"message {n}",
        ).message
        services.sentiment_record(message=message, label="neutral", score=0.0)
        services.fact_assert(
            customer=history, key=f"detail_{n}", value=str(n), asserted_by=Fact.AssertedBy.AGENT
        )
        case = services.case_open(customer=history, kind="order", reference=f"9{n:04d}")
        services.fact_assert(
            customer=history, case=case, key="status", value="open", asserted_by="system"
        )
    with django_assert_num_queries(len(short_history.captured_queries)):
        read()


def test_a_replaced_value_is_never_shown_even_inside_old_turns(history, all_scopes_agent):
    old_turn = services.message_record_inbound(
        channel=Channel.SMS,
        sender="+14155550101",
        recipient="+14155550000",
        text="ship it to 12 Oak Ave please",
    ).message
    services.message_set_gist(
        message=old_turn, gist="ship it to 12 Oak Ave please", is_filler=False
    )
    pack = context_read(
        actor=all_scopes_agent, customer=history, partitions=ALL_PARTITIONS, purpose="test"
    )

    text = pack.render_text()

    assert "12 Oak Ave" in pack.superseded
    assert "12 Oak Ave" not in text
    assert "ship it to (since replaced) please" in text
    assert "address 9 Elm St" in text


def test_mood_follows_the_latest_real_turn_and_ignores_filler(
    customer, inbound_sms, all_scopes_agent
):
    angry = inbound_sms(text="this is the third time, I am furious")
    services.sentiment_record(message=angry, label="negative", score=-0.9)
    filler = inbound_sms(text="ok")
    services.message_set_gist(message=filler, gist="", is_filler=True)
    services.sentiment_record(message=filler, label="neutral", score=0.0)

    pack = context_read(
        actor=all_scopes_agent,
        customer=customer,
        partitions=["emotion"],
        purpose="test",
        correlation_id=f"message:{filler.pk}",
    )
    assert pack.emotion is not None and pack.emotion.label == "negative"

    thanks = inbound_sms(text="sorted now, thank you so much!")
    services.sentiment_record(message=thanks, label="positive", score=0.8)
    pack = context_read(
        actor=all_scopes_agent,
        customer=customer,
        partitions=["emotion"],
        purpose="test",
        correlation_id=f"message:{thanks.pk}",
    )
    assert pack.emotion.label == "positive"


# One pack for several readers (issue 15) ---------------------------------------------------


def test_a_shared_read_gives_each_reader_what_a_read_of_its_own_would(history):
    from memory.selectors.gate import ContextReader, contexts_read

    readers = [
        AgentActor(name="intent", scopes=frozenset({Partition.MESSAGES})),
        AgentActor(name="entities", scopes=frozenset({Partition.BUSINESS, Partition.PII})),
        AgentActor(name="router", scopes=frozenset({Partition.EMOTION})),
        AgentActor(name="greeter", scopes=frozenset({Partition.PROFILE, Partition.BUSINESS})),
    ]
    alone = [
        context_read(actor=a, customer=history, partitions=a.scopes, purpose="alone")
        for a in readers
    ]
    before = access_entries().count()

    shared = contexts_read(
        readers=[ContextReader(actor=a, partitions=a.scopes, purpose="together") for a in readers],
        customer=history,
        correlation_id="message:1",
    )

    for own, pack, actor in zip(alone, shared, readers, strict=True):
        assert pack.actor_label == actor.label and pack.partitions == actor.scopes
        assert pack.render_text() == own.render_text()
        assert (pack.open_cases, pack.facts, pack.turns, pack.emotion, pack.versions) == (
            own.open_cases,
            own.facts,
            own.turns,
            own.emotion,
            own.versions,
        )
    # Only the reader holding messages sees turns; the one holding no pii sees them masked.
    assert shared[0].turns and not shared[1].turns and not shared[2].turns
    assert shared[2].emotion is not None and shared[0].emotion is None
    # Each read is its own entry, under its own name and partitions, in one chain run.
    written = list(access_entries().order_by("pk")[before:])
    assert [(e.actor_label, sorted(e.partitions)) for e in written] == [
        (a.label, sorted(p.value for p in a.scopes)) for a in readers
    ]
    assert len({e.shard for e in written}) == 1
    assert [e.seq for e in written] == list(range(written[0].seq, written[0].seq + len(readers)))


def test_a_shared_read_refuses_one_reader_and_serves_the_others(history):
    from memory.selectors.gate import ContextReader, contexts_read

    narrow = AgentActor(name="narrow", scopes=frozenset({Partition.MESSAGES}))
    wide = AgentActor(name="wide", scopes=ALL_PARTITIONS)

    refused, granted = contexts_read(
        readers=[
            ContextReader(actor=narrow, partitions=[Partition.BUSINESS], purpose="too much"),
            ContextReader(actor=wide, partitions=[Partition.BUSINESS], purpose="fine"),
        ],
        customer=history,
    )

    assert isinstance(refused, ContextAccessRefused) and refused.refused == {Partition.BUSINESS}
    assert not isinstance(granted, ContextAccessRefused) and granted.open_cases
    outcomes = dict(access_entries().values_list("actor_label", "outcome"))
    assert outcomes == {"agent:narrow": "refused", "agent:wide": "granted"}


def test_entries_written_together_verify_like_entries_written_one_by_one(history):
    from memory.audit import chain_verify
    from memory.selectors.gate import ContextReader, contexts_read

    actors = [AgentActor(name=f"reader-{n}", scopes=ALL_PARTITIONS) for n in range(5)]
    for _ in range(3):
        context_read(actor=actors[0], customer=history, partitions=["profile"], purpose="one")
        contexts_read(
            readers=[
                ContextReader(actor=a, partitions=["profile"], purpose="many") for a in actors
            ],
            customer=history,
        )

    report = chain_verify()
    assert report.problems == () and report.missing == 0
    # A batch's entries edited afterwards are caught like any other.
    victim = access_entries().filter(purpose="many").order_by("pk")[2]
    AuditEntry.objects.filter(pk=victim.pk).update(purpose="nothing to see")
    assert [(p.entry_id, p.problem) for p in chain_verify().problems] == [(victim.pk, "edited")]
