"""API clients are watched like agents: one that sweeps through many customers is quarantined
by the very read that would cross the line (refused, not served), and every request after it
is refused too."""

from __future__ import annotations

from memory.models import ActorQuarantine, ApiClient, AuditEntry
from memory.watch import WATCH_LABEL, AnomalyKind


def test_a_client_reading_many_customers_is_quarantined_and_then_refused(
    api_as, make_customer, settings
):
    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 3
    http = api_as("crm-sync", "profile")
    customers = [make_customer(name=f"Customer {n}") for n in range(5)]

    statuses = [
        http.get(f"/api/customers/{customer.pk}/context", {"partitions": "profile"}).status_code
        for customer in customers
    ]

    assert ApiClient.objects.get(name="crm-sync").active  # stopped, not revoked
    quarantine = ActorQuarantine.objects.get(actor="api:crm-sync")
    assert quarantine.active and quarantine.anomaly == AnomalyKind.MANY_CUSTOMERS
    assert quarantine.quarantined_by == WATCH_LABEL
    assert quarantine.reason.startswith("many distinct customers in a short window: ")
    assert "distinct customers" in quarantine.reason.partition(": ")[2]
    why = AuditEntry.objects.get(
        actor_label=WATCH_LABEL, purpose="quarantine api:crm-sync: many_customers"
    )
    assert why.additional_data["reason"] == quarantine.reason
    # The read that would cross the line is refused, not served; so is every one after it.
    assert statuses == [200, 200, 200, 403, 403]
    offending = AuditEntry.objects.get(pk=why.additional_data["offending_entry"])
    assert offending.outcome == AuditEntry.Outcome.REFUSED
    assert offending.object_id == customers[3].pk
    assert "quarantined" in offending.additional_data["reason"]
    granted = AuditEntry.objects.filter(actor_label="api:crm-sync", outcome="granted")
    assert sorted(granted.values_list("object_id", flat=True)) == [c.pk for c in customers[:3]]
