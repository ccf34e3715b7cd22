"""Audit you can prove: every entry point's read is one chained ACCESS entry, `audit verify`
finds them all and names an edited or deleted one, and the pipeline's traces carry the same
attributes (read back with the SDK's in-memory exporter). Tampering after a seal, erasure and
concurrency are in test_audit_tamper.py and test_audit_concurrency.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from memory.actors import SystemActor
from memory.audit import chain_verify
from memory.gdpr import customer_export
from memory.models import AuditChain, AuditEntry, Message
from memory.roles import COMPLIANCE, roles_ensure
from orchestrator.models import PipelineRun
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_workload(twilio_post, client, supervisor, customer, django_capture_on_commit_callbacks):
    """A signed SMS through the pipeline, a supervisor's admin page, and an export."""
    params = sms_params(Body="Where is my order 88123? Call me on 415-555-0101")
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    client.force_login(supervisor)
    assert client.get(f"/admin/memory/customer/{customer.pk}/change/").status_code == 200
    customer_export(actor=SystemActor(name="dpo"), customer=customer)
    return Message.objects.get(provider_id=params["MessageSid"])


def test_every_entry_point_leaves_chained_access_entries_and_verify_finds_all(
    spans, mixed_workload, capsys
):
    access = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS)
    actors = set(access.values_list("actor_label", flat=True))
    assert {"agent:intent", "agent:responder", "agent:router", "user:sam", "system:dpo"} <= actors
    run = PipelineRun.objects.get(inbound_message=mixed_workload)
    agent_reads = access.filter(actor_label__startswith="agent:")
    assert set(agent_reads.values_list("cid", flat=True)) == {f"message:{mixed_workload.pk}"}
    assert run.status == PipelineRun.Status.REPLIED
    assert not access.filter(seq__isnull=True).exists()
    assert all(e.cid and e.purpose and e.object_pk for e in access)
    # The gate's own count (spans it opened) matches the entries written, one for one.
    reads = [s for s in spans.get_finished_spans() if s.name == "rapport.context_read"]
    assert len(reads) == access.count()

    call_command("audit", "verify")
    out = capsys.readouterr().out
    # Every entry is chained: the reads and the change entries auditlog wrote for the graph.
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()
    written = AuditChain.objects.aggregate(total=Sum("seq"))["total"]
    assert written == AuditEntry.objects.count()
    assert f"gate counter:      {written} chained entries written" in out
    assert "completeness:      100.0% (0 missing)" in out
    assert "audit trail intact" in out


def test_verify_names_an_edited_entry(mixed_workload):
    victim = AuditEntry.objects.filter(actor_label="user:sam").get()
    AuditEntry.objects.filter(pk=victim.pk).update(purpose="nothing to see")
    report = chain_verify()
    assert [(p.shard, p.seq, p.entry_id, p.problem) for p in report.problems] == [
        (victim.shard, victim.seq, victim.pk, "edited")
    ]
    with pytest.raises(CommandError, match="NOT intact"):
        call_command("audit", "verify")


def test_verify_names_an_entry_whose_hashes_were_rewritten_without_the_key(mixed_workload):
    from memory.audit import content_hash

    victim = AuditEntry.objects.filter(actor_label="agent:intent").get()
    victim.actor_label = "agent:sentiment"
    AuditEntry.objects.filter(pk=victim.pk).update(
        actor_label=victim.actor_label, content_hash=content_hash(victim)
    )
    assert [(p.seq, p.problem) for p in chain_verify().problems] == [
        (victim.seq, "edited (hashes rewritten)")
    ]


def test_verify_names_a_deleted_entry_and_counts_it_missing(mixed_workload):
    victim = AuditEntry.objects.filter(actor_label="agent:responder").get()
    AuditEntry.objects.filter(pk=victim.pk).delete()
    report = chain_verify()
    assert report.missing == 1 and report.complete_percent < 100
    assert [(p.shard, p.seq, p.problem) for p in report.problems] == [
        (victim.shard, victim.seq, "deleted")
    ]


def test_verify_notices_the_newest_entry_deleted(mixed_workload):
    newest = AuditEntry.objects.order_by("-pk").first()
    AuditEntry.objects.filter(pk=newest.pk).delete()
    assert [(p.shard, p.seq, p.problem) for p in chain_verify().problems] == [
        (newest.shard, newest.seq, "deleted (at the end)")
    ]


def test_pipeline_emits_one_span_per_agent_run_with_the_gate_read_inside(
    twilio_post, customer, spans, django_capture_on_commit_callbacks
):
    params = sms_params(Body="Where is my order 88123?")
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", params)
    message = Message.objects.get(provider_id=params["MessageSid"])
    finished = spans.get_finished_spans()
    runs = {s.attributes["rapport.agent"]: s for s in finished if s.name == "rapport.agent_run"}
    assert set(runs) == {"intent", "sentiment", "entities", "rules", "responder"}
    reads = [s for s in finished if s.name == "rapport.context_read"]
    for name, span in runs.items():
        assert span.attributes["rapport.status"] == "ok"
        (read,) = [r for r in reads if r.parent and r.parent.span_id == span.context.span_id]
        assert read.attributes["rapport.actor"] == f"agent:{name}"
        assert read.attributes["rapport.customer_id"] == customer.pk
        assert read.attributes["rapport.outcome"] == "granted"
        assert read.attributes["rapport.correlation_id"] == f"message:{message.pk}"
        assert read.attributes["rapport.purpose"]
        assert list(read.attributes["rapport.partitions"])
        entry = AuditEntry.objects.get(
            actor_label=f"agent:{name}", seq=read.attributes["rapport.audit_seq"]
        )
        assert entry.action == AuditEntry.Action.ACCESS


def test_compliance_admin_filters_the_log_and_exports_csv(mixed_workload, client, customer):
    page = client.get(f"/admin/memory/customer/{customer.pk}/change/")
    assert b"who accessed this customer" in page.content.lower()
    assert f"object_id={customer.pk}".encode() in page.content
    officer = User.objects.create_user("cora", password="x-long-password", is_staff=True)
    officer.groups.add(roles_ensure()[COMPLIANCE])
    client.force_login(officer)
    listing = client.get(
        "/admin/memory/auditentry/",
        {"object_id": customer.pk, "outcome__exact": "granted", "action__exact": 3},
    )
    assert listing.status_code == 200 and b"agent:intent" in listing.content
    csv = client.get("/admin/memory/auditentry/export.csv", {"actor_label": "agent:intent"})
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0].startswith("timestamp,seq,action,actor_label,customer_id")
    assert len(lines) == 2 and ",agent:intent," in lines[1]
    chosen = AuditEntry.objects.filter(actor_label="user:sam").values_list("pk", flat=True)
    action = client.post(
        "/admin/memory/auditentry/", {"action": "export_csv", "_selected_action": list(chosen)}
    )
    assert b"user:sam" in b"".join(action.streaming_content)
    # The officer browses and exports the log, yet may not open the customer's context.
    assert client.get(f"/admin/memory/customer/{customer.pk}/change/").status_code == 403
