"""A customer's rights: the export holds everything and is itself audited; erasure leaves no
personal data anywhere in the database yet keeps a verifiable trail; retention purges old
messages the same way, with a dry run first."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from memory import services
from memory.audit import chain_verify
from memory.models import AuditEntry, Channel, Customer, Message, SentimentReading
from memory.tasks import retention_apply
from orchestrator.models import AgentRun, PipelineRun
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db

PHONE = "+14155550177"
EMAIL = "zelda.quintero@example.org"
NAME = "Zelda Quintero"
ORDERS = ("77123", "77456")


@pytest.fixture
def zelda(make_customer, twilio_post, client, supervisor, django_capture_on_commit_callbacks):
    """Zelda's history through the real entry points: SMS through the pipeline (agent runs,
    merged findings, a reply), an e-mail, facts replaced over time, an admin page read."""
    zelda = make_customer(name=NAME, phone=PHONE, email=EMAIL)
    for body in (
        f"Hi it's {NAME}, where is order {ORDERS[0]}? Reach me at 415-555-0177 or {EMAIL}",
        f"Also order {ORDERS[1]} is broken, I live at 12 Quince Lane",
    ):
        with django_capture_on_commit_callbacks(execute=True):
            twilio_post("/twilio/sms/", sms_params(From=PHONE, Body=body))
    services.message_record_inbound(
        channel=Channel.EMAIL,
        sender=EMAIL,
        recipient="support@shop.example",
        text=f"This is {NAME}; my order {ORDERS[0]} again",
        subject=f"Order {ORDERS[0]} for {NAME}",
    )
    for value in ("12 Quince Lane", "9 Elm St"):
        services.fact_assert(
            customer=zelda, key="shipping_address", value=value, asserted_by="customer"
        )
    services.case_open(customer=zelda, kind="order", reference=ORDERS[1], title=f"{NAME}'s TV")
    client.force_login(supervisor)
    assert client.get(f"/admin/memory/customer/{zelda.pk}/change/").status_code == 200
    return zelda


def test_export_holds_everything_and_is_an_audited_read(zelda, tmp_path):
    target = tmp_path / "zelda.json"
    call_command("customer", "export", str(zelda.pk), "--output", str(target))
    dossier = json.loads(target.read_text())
    assert dossier["profile"]["display_name"] == NAME
    assert {i["value"] for i in dossier["identities"]} == {PHONE, EMAIL}
    assert {c["channel"] for c in dossier["conversations"]} == {"sms", "email"}
    assert sum(m["direction"] == "inbound" for m in dossier["messages"]) == 3
    assert any(ORDERS[0] in m["text"] for m in dossier["messages"])
    assert {c["reference"] for c in dossier["cases"]} >= set(ORDERS)
    addresses = [f for f in dossier["facts"] if f["key"] == "shipping_address"]
    assert [f["value"] for f in addresses] == ["12 Quince Lane", "9 Elm St"]
    assert addresses[0]["valid_until"] is not None and addresses[1]["valid_until"] is None
    assert len(dossier["sentiment"]) >= 2
    assert {"agent:intent", "user:sam"} <= {a["actor_label"] for a in dossier["access_log"]}
    export = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("seq")
    assert export.actor_label.startswith("system:cli:") and export.object_pk == str(zelda.pk)
    assert export.purpose == "data subject request"
    assert sorted(export.partitions) == [
        "business",
        "emotion",
        "identities",
        "messages",
        "pii",
        "profile",
    ]


def test_admin_export_action_downloads_the_dossier(zelda, client):
    response = client.post(
        "/admin/memory/customer/", {"action": "export_selected", "_selected_action": [zelda.pk]}
    )
    (dossier,) = json.loads(response.content)
    assert dossier["profile"]["display_name"] == NAME


def personal_data_left(needles: tuple[str, ...]) -> list[str]:
    """Every text column of every table, searched for each needle."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField | models.JSONField):
                continue
            as_text = Cast(field.name, models.TextField())
            for needle in needles:
                rows = model._default_manager.annotate(_t=as_text).filter(_t__icontains=needle)
                if rows.exists():
                    found.append(f"{model._meta.label}.{field.name} holds {needle!r}")
    return found


NEEDLES = (
    PHONE,
    "4155550177",
    "555-0177",
    "5550177",
    EMAIL,
    "zelda",
    "quintero",
    *ORDERS,
    "Quince",
    "Elm St",
)


def test_erasure_leaves_no_personal_data_anywhere_and_the_trail_still_verifies(zelda):
    assert personal_data_left(NEEDLES)  # the search does find what is there
    assert PipelineRun.objects.filter(customer=zelda).exists()
    assert AgentRun.objects.filter(pipeline_run__customer=zelda).exclude(output={}).exists()

    call_command("customer", "erase", str(zelda.pk), "--yes", "--reason", "ticket 4711")

    assert personal_data_left(NEEDLES) == []
    tombstone = Customer.objects.get(pk=zelda.pk)
    assert tombstone.erased_at is not None and tombstone.display_name == ""
    assert Message.objects.filter(customer=tombstone).count() >= 5  # shapes stay, words go
    erasure = AuditEntry.objects.get(action=AuditEntry.Action.DELETE, object_pk=str(zelda.pk))
    assert erasure.purpose == "erasure: ticket 4711" and erasure.seq is not None
    erased = erasure.additional_data["erased"]
    assert erased["messages"] >= 5
    # The orchestrator's traces and drafts are scrubbed by its receivers, and counted too.
    assert erased["pipeline_runs"] >= 2 and erased["agent_runs"] >= 2
    assert "reply_drafts" in erased
    assert not AgentRun.objects.filter(pipeline_run__customer=zelda).exclude(output={}).exists()
    report = chain_verify()
    assert report.ok, report.problems
    # Who read her, when and why is still there, without her name.
    reads = AuditEntry.objects.filter(object_pk=str(zelda.pk), action=AuditEntry.Action.ACCESS)
    assert {"agent:intent", "user:sam"} <= set(reads.values_list("actor_label", flat=True))


def test_a_new_message_after_erasure_starts_a_new_customer(zelda, say):
    call_command("customer", "erase", str(zelda.pk), "--yes")
    again = say("hello again", sender=PHONE)
    assert again.customer_id != zelda.pk


def test_admin_erase_action_needs_the_delete_permission(zelda, client, supervisor):
    response = client.post(
        "/admin/memory/customer/", {"action": "erase_selected", "_selected_action": [zelda.pk]}
    )
    assert Customer.objects.get(pk=zelda.pk).erased_at is None
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    response = client.post(
        "/admin/memory/customer/", {"action": "erase_selected", "_selected_action": [zelda.pk]}
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=zelda.pk).erased_at is not None


@pytest.fixture
def old_and_new(customer, inbound_sms, settings):
    settings.RETENTION_DAYS = {"sms": 30, "email": 0, "voice": 0, "chat": 0}
    old = inbound_sms(
        text="old: my card is 4111 1111 1111 1111", at=timezone.now() - dt.timedelta(days=45)
    )
    services.sentiment_record(message=old, label="neutral", score=0.0)
    new = inbound_sms(text="new: still waiting", at=timezone.now() - dt.timedelta(days=2))
    return old, new


def test_retention_dry_run_reports_and_changes_nothing(old_and_new, capsys):
    old, _ = old_and_new
    call_command("retention", "--dry-run")
    out = capsys.readouterr().out
    assert "sms: keep 30 days" in out and "would purge 1 message(s) of 1 customer(s)" in out
    old.refresh_from_db()
    assert old.text.startswith("old:")


def test_retention_purges_old_messages_like_erasure_and_audits_it(old_and_new, capsys):
    old, new = old_and_new
    assert retention_apply.delay().get() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.text == "" and not SentimentReading.objects.filter(message=old).exists()
    assert new.text == "new: still waiting"
    entry = AuditEntry.objects.get(actor_label="system:retention")
    assert entry.additional_data["purged"]["messages"] == 1
    assert chain_verify().ok
    call_command("retention")
    assert "purged 0 message(s)" in capsys.readouterr().out
