"""API clients are watched like agents: one that sweeps through many customers is quarantined
at once, and its next request is refused."""

from __future__ import annotations

from channels_app.models import ApiClient
from memory.models import AuditEntry


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

    client = ApiClient.objects.get(name="crm-sync")
    assert client.quarantined
    assert "distinct customers" in client.quarantine_reason
    # The read that crossed the line was served; the ones after it were refused.
    assert statuses[:4] == [200, 200, 200, 200]
    assert statuses[4] == 403
    refused = AuditEntry.objects.filter(actor_label="api:crm-sync", outcome="refused")
    assert refused.exists()
