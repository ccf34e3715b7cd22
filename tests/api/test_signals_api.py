"""Churn risk and buying intent over the REST API: read through the gate (business scope),
each with the messages that raised it, and part of the context pack."""

from __future__ import annotations

import pytest

from memory.models import AuditEntry
from memory.services import customer_signal_record

pytestmark = pytest.mark.django_db


def test_signals_come_with_their_evidence_messages_and_the_read_is_audited(
    api_as, customer, inbound_sms
):
    threat = inbound_sms(text="I'm off to another provider")
    ordinary = inbound_sms(text="where is my parcel")
    customer_signal_record(message=threat, kind="churn_risk", score=0.8, model_name="signals-v1")
    customer_signal_record(message=ordinary, kind="churn_risk", score=0.1)
    customer_signal_record(message=ordinary, kind="buying_intent", score=0.05)
    http = api_as("crm", "business")

    body = http.get(f"/api/customers/{customer.pk}/signals").json()

    assert body["customer_id"] == customer.pk
    churn, buying = body["signals"]
    assert (churn["kind"], churn["level"], churn["evidence_message_ids"]) == (
        "churn_risk",
        "high",
        [threat.pk],
    )
    assert churn["score"] == pytest.approx(0.8 * 0.9)  # an ordinary turn eased it
    assert (buying["kind"], buying["level"], buying["evidence_message_ids"]) == (
        "buying_intent",
        "low",
        [],
    )
    assert AuditEntry.objects.filter(purpose="api: customer signals").exists()
    pack = http.get(f"/api/customers/{customer.pk}/context", {"partitions": "business"}).json()
    assert [s["kind"] for s in pack["pack"]["signals"]] == ["churn_risk", "buying_intent"]
    assert "Signals: churn risk high" in pack["text"]


def test_a_client_without_business_scope_is_refused_the_signals(api_as, customer):
    http = api_as("widget", "profile")
    assert http.get(f"/api/customers/{customer.pk}/signals").status_code == 403
