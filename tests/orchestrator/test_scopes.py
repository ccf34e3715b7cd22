"""Scope enforcement per agent: each agent reads only what its configuration grants; a read
outside it is refused by the gate and recorded, and the pipeline carries on without it."""

from __future__ import annotations

import pytest

from memory.models import AuditEntry, SentimentReading
from memory.watch import actor_quarantine
from orchestrator import pipeline
from orchestrator.models import AgentConfig, AgentRun, PipelineRun
from tests.orchestrator.conftest import agent_statuses

pytestmark = pytest.mark.django_db


def test_agent_asking_outside_its_scope_is_refused_and_recorded(customer, say):
    AgentConfig.objects.filter(name="sentiment").update(scopes=["profile"])
    inbound = say("hi, where is my order 88123")

    reply = pipeline.message_process(message_id=inbound.pk)

    run = PipelineRun.objects.get(inbound_message=inbound)
    assert agent_statuses(run)["sentiment"] == AgentRun.Status.REFUSED
    refused = AgentRun.objects.get(pipeline_run=run, agent_name="sentiment")
    assert "emotion" in refused.error
    entry = AuditEntry.objects.get(actor_label="agent:sentiment")
    assert entry.outcome == AuditEntry.Outcome.REFUSED
    assert entry.partitions == ["emotion"]
    # Nothing the refused agent would have written was written; the others carried on.
    assert not SentimentReading.objects.filter(message=inbound).exists()
    assert run.merge["failed"] == {"sentiment": "refused"}
    assert reply is not None and reply.text


def test_every_agent_reads_under_its_own_name_with_only_its_partitions(customer, say):
    inbound = say("hello, can you check order 88123?")
    pipeline.message_process(message_id=inbound.pk)
    granted = {
        entry.actor_label: set(entry.partitions)
        for entry in AuditEntry.objects.filter(
            actor_label__startswith="agent:", outcome=AuditEntry.Outcome.GRANTED
        )
    }
    for config in AgentConfig.objects.filter(kind=AgentConfig.Kind.BUILTIN):
        assert granted[f"agent:{config.name}"] <= set(config.scopes)
    # Raw contact details go to the entities agent alone, which links the ones stated.
    assert [label for label, parts in granted.items() if "pii" in parts] == ["agent:entities"]


def test_quarantined_agent_is_left_out_of_the_plan_with_the_reason(customer, say):
    actor_quarantine(
        actor="agent:entities", reason="wrote bad addresses", quarantined_by="user:sam"
    )
    inbound = say("my order 88123 is late")
    pipeline.message_process(message_id=inbound.pk)
    run = PipelineRun.objects.get(inbound_message=inbound)
    assert "entities" not in run.plan["agents"]
    assert run.plan["skipped"]["entities"] == "quarantined: wrote bad addresses"
    assert not AgentRun.objects.filter(pipeline_run=run, agent_name="entities").exists()
    assert not customer.cases.exists()
