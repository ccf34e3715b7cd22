"""Every built-in agent against every partition, both ways, and contact details masked in
every text an actor without `pii` is given, the same detail always the same token."""

from __future__ import annotations

import json

import pytest

from memory import services
from memory.actors import AgentActor, Partition
from memory.models import AuditEntry, Channel, Customer, Message
from memory.redaction import Redactor
from memory.selectors import ContextAccessRefused, context_read
from orchestrator.handover import HANDOVER
from orchestrator.lifecycle import SUMMARIZER
from orchestrator.pipeline import VOICE_GREETER
from orchestrator.routing import ROUTER
from tests.compliance.conftest import builtin_actor

pytestmark = pytest.mark.django_db

RAW_DETAILS = ("4155550101", "415-555-0101", "ana@example.com", "4111 1111", "12 Oak Ave")
CONFIGURED = ("intent", "sentiment", "entities", "rules", "responder")
INTERNAL = {a.name: a for a in (ROUTER, HANDOVER, SUMMARIZER, VOICE_GREETER)}


@pytest.fixture
def ana(customer, inbound_sms):
    """Ana, with contact details said inside a message, a case, a fact and a mood."""
    message = inbound_sms(
        text="Call me on 415-555-0101 or ana@example.com; card 4111 1111 1111 1111; "
        "I live at 12 Oak Ave, order 88123"
    )
    services.message_set_gist(message=message, gist="reach me at 415-555-0101", is_filler=False)
    services.sentiment_record(message=message, label="negative", score=-0.5)
    case = services.case_open(
        customer=customer, kind="order", reference="88123", title="for ana@example.com"
    )
    services.fact_assert(
        customer=customer, key="callback_number", value="+1 (415) 555-0101", asserted_by="agent"
    )
    services.fact_assert(
        customer=customer, case=case, key="issue", value="cracked screen", asserted_by="agent"
    )
    return customer


def working_on(customer: Customer) -> str:
    """The correlation id of an agent at work on the customer's latest inbound message."""
    message = Message.objects.filter(customer=customer, direction=Message.Direction.INBOUND).latest(
        "pk"
    )
    return f"message:{message.pk}"


def agent_for(name: str) -> AgentActor:
    return INTERNAL[name] if name in INTERNAL else builtin_actor(name)


def shows(pack, partition: Partition) -> bool:
    return {
        Partition.PROFILE: pack.profile is not None and pack.profile.display_name == "Ana Ruiz",
        Partition.IDENTITIES: len(pack.identities) == 2,
        Partition.MESSAGES: len(pack.turns) >= 1,
        Partition.BUSINESS: [c.reference for c in pack.open_cases] == ["88123"],
        Partition.EMOTION: pack.emotion is not None,
        Partition.PII: True,
    }[partition]


@pytest.mark.parametrize("partition", list(Partition))
@pytest.mark.parametrize("name", [*CONFIGURED, *INTERNAL])
def test_scope_table_allowed_gives_the_data_refused_gives_an_error_and_an_audit_entry(
    ana, run_behind, name, partition
):
    agent = agent_for(name)
    correlation = run_behind()
    if agent.may_read(partition):
        pack = context_read(
            actor=agent,
            customer=ana,
            partitions=[partition],
            purpose="scope table",
            correlation_id=correlation,
        )
        assert shows(pack, partition)
        entry = AuditEntry.objects.filter(actor_label=agent.label).latest("timestamp")
        assert entry.outcome == AuditEntry.Outcome.GRANTED and entry.cid == correlation
        if partition is not Partition.PII:
            leaked = json.dumps(pack.to_json()) + pack.render_text()
            assert not [raw for raw in RAW_DETAILS if raw in leaked]
        return
    with pytest.raises(ContextAccessRefused, match=partition.value):
        context_read(
            actor=agent,
            customer=ana,
            partitions=[partition],
            purpose="scope table",
            correlation_id=correlation,
        )
    entry = AuditEntry.objects.filter(actor_label=agent.label).latest("timestamp")
    assert entry.action == AuditEntry.Action.ACCESS
    assert entry.outcome == AuditEntry.Outcome.REFUSED
    assert entry.partitions == [partition.value]
    assert entry.object_pk == str(ana.pk)


# Only two agents read contact details: the entities agent links the ones customers state,
# and the summariser files what a quiet conversation taught (a new address) as facts, which
# it can only do from the words in clear. Every other agent gets them masked.
PII_READERS = {"entities", "summarizer"}


def test_only_the_entities_agent_holds_pii_so_contact_details_reach_no_other(ana, run_behind):
    for name in [*CONFIGURED, *INTERNAL]:
        agent = agent_for(name)
        assert agent.may_read(Partition.PII) == (name in PII_READERS), name
        if name in PII_READERS:
            continue
        pack = context_read(
            actor=agent,
            customer=ana,
            partitions=sorted(agent.scopes),
            purpose="what an agent sees",
            correlation_id=run_behind(),
        )
        leaked = json.dumps(pack.to_json()) + pack.render_text()
        assert not [raw for raw in RAW_DETAILS if raw in leaked], name


def test_one_detail_reads_as_one_token_across_identities_messages_and_facts(ana):
    reader = AgentActor(name="t", scopes=frozenset(Partition) - {Partition.PII})
    pack = context_read(
        actor=reader,
        customer=ana,
        partitions=["identities", "messages", "business"],
        purpose="consistency",
        correlation_id=working_on(ana),
    )
    phone = next(i.value for i in pack.identities if i.kind == "phone")
    email = next(i.value for i in pack.identities if i.kind == "email")
    assert phone == "+1******0101" and email == "a***@example.com"
    turn = pack.turns[0]
    assert turn.text.count(phone) == 1 and email in turn.text and phone in turn.gist
    assert "[card-1]" in turn.text and "[address-1]" in turn.text
    assert {f.value for f in pack.facts if f.key == "callback_number"} == {phone}
    assert pack.open_cases[0].title == f"for {email}"
    assert "88123" in turn.text  # an order number is not a contact detail


def test_with_pii_the_same_actor_gets_the_raw_details(ana):
    reader = AgentActor(name="t", scopes=frozenset(Partition))
    pack = context_read(
        actor=reader,
        customer=ana,
        partitions=["messages", "pii"],
        purpose="verify identity",
        correlation_id=working_on(ana),
    )
    assert "415-555-0101" in pack.turns[0].text and "4111 1111 1111 1111" in pack.turns[0].text


@pytest.mark.parametrize(
    ("text", "masked", "kept"),
    [
        ("ring (415) 555-0101 or +1 415 555 0101", ["+1******0101"], ["ring", "or"]),
        ("my cell is 415.555.0199, office 212-555-1234", ["+1******0199", "+1******1234"], []),
        ("UK: +44 20 7946 0958", ["+4*******0958"], ["UK:"]),
        ("Mail Ana.Ruiz@Example.com or ana.ruiz@example.com", ["a***@example.com"], ["Mail"]),
        ("card 4111-1111-1111-1111 expires 12/27", ["[card-1]"], ["12/27"]),
        ("not a card 4111 1111 1111 1112, order 1234567", [], ["4111 1111 1111 1112", "1234567"]),
        ("ship to 9 Elm St. Apt 4B tomorrow", ["[address-1]"], ["tomorrow"]),
        ("moved to 221B Baker Street, London", ["[address-1]"], ["London"]),
        (
            "order 88123 on 2026-11-24 at 10:30 for $1234.56",
            [],
            ["88123", "2026-11-24", "$1234.56"],
        ),
    ],
)
def test_redaction_on_varied_text(text, masked, kept):
    redacted = Redactor().text(text)
    for token in masked:
        assert token in redacted
    for word in kept:
        assert word in redacted
    for digits in ("4155550101", "555-0101", "555 0101", "555.0199", "4111-1111", "Elm", "Baker"):
        if digits in text and not any(digits in word for word in kept):
            assert digits not in redacted


def test_two_different_numbers_masked_alike_still_read_apart():
    redactor = Redactor()
    first, second = redactor.text("+14155550101"), redactor.text("+14165550101")
    assert first != second and second.startswith(first)


def test_a_read_through_another_partition_carries_no_raw_detail(customer, inbound_sms):
    """The refused `pii` does not leak through `messages`: the number inside a text is masked."""
    services.message_record_inbound(
        channel=Channel.SMS,
        sender="+14155550101",
        recipient="+14155550000",
        text="new number: 415 555 0177",
    )
    reader = AgentActor(name="t", scopes=frozenset({Partition.MESSAGES}))
    work = working_on(customer)
    with pytest.raises(ContextAccessRefused, match="pii"):
        context_read(
            actor=reader, customer=customer, partitions=["pii"], purpose="peek", correlation_id=work
        )
    pack = context_read(
        actor=reader,
        customer=customer,
        partitions=["messages"],
        purpose="read",
        correlation_id=work,
    )
    assert "0177" in pack.turns[0].text and "555 0177" not in pack.turns[0].text


def test_the_message_an_agent_works_on_comes_masked_without_pii(customer, inbound_sms, monkeypatch):
    from orchestrator import pipeline
    from orchestrator.pipeline import agents as pipeline_agents

    seen: dict[str, str] = {}
    real_call = pipeline_agents._agent_call

    def spy(agent, pack, turn):
        seen[agent.name] = turn.text
        return real_call(agent, pack, turn)

    monkeypatch.setattr(pipeline_agents, "_agent_call", spy)
    message = inbound_sms(text="please call me back on 415-555-0199 about order 88123")

    pipeline.message_process(message_id=message.pk)

    assert "415-555-0199" in seen["entities"]
    for name in ("intent", "sentiment", "rules", "responder"):
        if name in seen:
            assert "415-555-0199" not in seen[name] and "88123" in seen[name], name
    assert {"intent", "sentiment"} <= set(seen)
