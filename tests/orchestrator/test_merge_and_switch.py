"""Merge with version control (a concurrent conflicting write is caught, settled by memory's
rule and recorded) and channel switches (state and a handover summary carried over)."""

from __future__ import annotations

import pytest

from memory.actors import ALL_PARTITIONS, AgentActor
from memory.models import AuditEntry, Channel, ChannelSwitch, Fact, WriteConflict
from memory.selectors import context_read
from memory.services import fact_assert
from orchestrator import pipeline
from orchestrator.models import PipelineRun

pytestmark = pytest.mark.django_db


def test_the_pack_carries_the_versions_it_was_read_at(customer, settings):
    # Versions are what is judged here, not the work behind each read (the watch's job).
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False
    reader = AgentActor(name="t", scopes=ALL_PARTITIONS)
    before = context_read(actor=reader, customer=customer.pk, partitions=["business"], purpose="t")
    fact_assert(customer=customer, key="tier", value="gold", asserted_by=Fact.AssertedBy.IMPORT)
    after = context_read(actor=reader, customer=customer.pk, partitions=["business"], purpose="t")
    assert after.versions["business"] == before.versions["business"] + 1
    assert "profile" not in after.versions


def test_a_conflicting_concurrent_write_is_detected_settled_and_recorded(customer, say):
    inbound = say("Please ship the replacement to 9 Elm St.")
    plan = pipeline.message_plan(message_id=inbound.pk)
    results = pipeline.agents_run(run_id=plan.run_id, names=plan.analysts)
    (entities,) = [r for r in results if r.agent == "entities"]
    (proposed,) = [w for w in entities.outcome.writes if w.key == "address"]
    # While the agents were working, a person set the address from the phone call they took.
    person = fact_assert(
        customer=customer, key="address", value="12 Oak Ave", asserted_by=Fact.AssertedBy.HUMAN
    )
    assert person.written_version > proposed.based_on_version

    pipeline.pipeline_finish(run_id=plan.run_id, results=results)

    conflict = WriteConflict.objects.get(customer=customer, key="address")
    assert conflict.writer == "entities"
    assert conflict.expected_version == proposed.based_on_version
    assert conflict.resolution == WriteConflict.Resolution.KEPT_NEWER
    assert conflict.kept_value == "12 Oak Ave"
    assert (
        Fact.objects.get(customer=customer, key="address", valid_until=None).value == "12 Oak Ave"
    )
    run = PipelineRun.objects.get(pk=plan.run_id)
    (recorded,) = run.merge["conflicts"]
    assert recorded["agent"] == "entities" and recorded["kept"] == "12 Oak Ave"


def test_without_a_concurrent_write_the_agents_fact_is_applied(customer, say):
    inbound = say("Please ship the replacement to 9 Elm St.")
    pipeline.message_process(message_id=inbound.pk)
    fact = Fact.objects.get(customer=customer, key="address", valid_until=None)
    assert fact.asserted_by_agent == "entities" and fact.source_message == inbound
    assert not WriteConflict.objects.exists()


def test_a_channel_switch_carries_open_business_and_a_handover_summary(customer, say):
    sms = say("Hi, order 88123 arrived with a cracked screen")
    pipeline.message_process(message_id=sms.pk)

    email = say(
        "Could you tell me when the replacement ships? Thanks",
        channel=Channel.EMAIL,
        sender="ana@example.com",
        thread_key="<thread-1@mail.example>",
    )
    reply = pipeline.message_process(message_id=email.pk)

    switch = ChannelSwitch.objects.get(to_conversation=email.conversation)
    assert switch.from_conversation_id == sms.conversation_id
    assert switch.carried_case_ids == list(customer.cases.values_list("pk", flat=True))
    assert switch.latency_ms is not None and switch.latency_ms >= 0
    assert "Open: order 88123 open." in switch.handover_summary
    assert "cracked screen" in switch.handover_summary
    email.conversation.refresh_from_db()
    assert email.conversation.previous_id == sms.conversation_id
    run = PipelineRun.objects.get(inbound_message=email)
    assert run.plan["channel_switch"]["from_channel"] == "sms"
    assert run.plan["path"] == PipelineRun.Path.FULL  # planned anew for e-mail
    assert reply.text.startswith("Hi Ana, thanks for your message about order 88123.")
    assert AuditEntry.objects.filter(actor_label="agent:handover").exists()
    # A second message on the same channel is no switch.
    later = say(
        "any news?",
        channel=Channel.EMAIL,
        sender="ana@example.com",
        thread_key="<thread-1@mail.example>",
    )
    pipeline.message_process(message_id=later.pk)
    assert ChannelSwitch.objects.count() == 1
