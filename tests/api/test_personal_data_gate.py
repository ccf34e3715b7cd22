"""Personal data only through the gate, for the REST API: looking a customer up by phone or
e-mail needs `identities` and is an audited, watched read; a quarantine stops search and the
index with 403 (not an empty answer), holds until a person lifts it, and stays lifted; a
write refused for scope or quarantine is in the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from memory.models import ActorQuarantine, ApiClient, AuditEntry, Fact
from memory.watch import actor_quarantine

pytestmark = pytest.mark.django_db


def _entries(label: str, **narrowed: object) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor_label=label, **narrowed).order_by("pk"))


def test_search_by_phone_without_identities_does_not_name_the_customer(api_as, known_customer):
    profile_only = api_as("profile-only", "profile")
    hits = profile_only.get("/api/search", {"q": "(415) 555-0101"}).json()["results"]
    assert hits == []
    # Nor through the words of a message that quotes the number (no `pii` either).
    messages = api_as("messages", "profile,messages")
    assert messages.get("/api/search", {"q": "+1 415 555 0199"}).json()["results"] == []

    with_identities = api_as("with-identities", "profile,identities")
    hits = with_identities.get("/api/search", {"q": "(415) 555-0101"}).json()["results"]
    assert [(h["kind"], h["customer_id"], h["snippet"]) for h in hits] == [
        ("customer", known_customer.pk, "Ana Ruiz")
    ]
    [entry] = _entries("api:with-identities")
    assert entry.object_id == known_customer.pk and entry.outcome == AuditEntry.Outcome.GRANTED


def test_index_by_phone_needs_identities_and_each_customer_listed_is_an_audited_read(
    api_as, known_customer
):
    profile_only = api_as("crm-narrow", "profile")
    refused = profile_only.get("/api/customers/", {"phone": "(415) 555-0101"})
    assert refused.status_code == 403
    assert "identities" in refused.json()["detail"]

    crm = api_as("crm", "profile,identities")
    found = crm.get("/api/customers/", {"phone": "(415) 555-0101"}).json()
    assert [row["id"] for row in found["results"]] == [known_customer.pk]
    [entry] = _entries("api:crm")
    assert entry.action == AuditEntry.Action.ACCESS
    assert entry.object_id == known_customer.pk
    assert entry.partitions == ["identities", "profile"]
    assert entry.purpose == "api: customer index"


def test_sweeping_the_index_is_watched_like_reading_contexts(api_as, make_customer, settings):
    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 3
    for n in range(5):
        make_customer(name=f"Customer {n}")
    crm = api_as("crm-sweep", "profile")

    first = crm.get("/api/customers/", {"limit": 3})
    second = crm.get("/api/customers/", {"limit": 3, "offset": 3})

    assert first.status_code == 200 and len(first.json()["results"]) == 3
    assert second.status_code == 403  # the fourth distinct customer crosses the line
    quarantine = ActorQuarantine.objects.get(actor="api:crm-sweep")
    assert quarantine.active and quarantine.anomaly == "many_customers"
    assert crm.get("/api/customers/", {"limit": 1}).status_code == 403


def test_a_quarantined_client_gets_403_from_search_and_index_even_with_nothing_to_find(
    api_as, known_customer
):
    http = api_as("stopped", "profile,identities,business,messages")
    actor_quarantine(actor="api:stopped", reason="by user:sam", quarantined_by="user:sam")

    assert http.get("/api/search", {"q": "no such words anywhere"}).status_code == 403
    assert http.get("/api/search", {"q": "HO-364415"}).status_code == 403
    assert http.get("/api/customers/").status_code == 403
    context = http.get(f"/api/customers/{known_customer.pk}/context")
    assert context.status_code == 403


def test_a_lifted_quarantine_is_not_undone_by_the_next_read(
    api_as, make_customer, settings, client, django_capture_on_commit_callbacks
):
    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 3
    customers = [make_customer(name=f"Customer {n}") for n in range(6)]
    http = api_as("crm-lift", "profile")
    statuses = [
        http.get(f"/api/customers/{c.pk}/context", {"partitions": "profile"}).status_code
        for c in customers[:5]
    ]
    assert statuses == [200, 200, 200, 403, 403]

    admin = User.objects.create_superuser("root", password="x" * 12)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        lifted = client.post(
            "/admin/memory/apiclient/",
            {"action": "lift_quarantine", "_selected_action": [ApiClient.objects.get().pk]},
        )
    assert lifted.status_code == 302
    assert not ActorQuarantine.objects.get(actor="api:crm-lift").active

    # The windows start clean: three more customers read, none of them crossing the line.
    again = [
        http.get(f"/api/customers/{c.pk}/context", {"partitions": "profile"}).status_code
        for c in customers[3:6]
    ]
    assert again == [200, 200, 200]
    assert not ActorQuarantine.objects.get(actor="api:crm-lift").active


def test_a_lift_holds_even_when_the_windows_were_not_cleared_when_it_was_made(
    api_as, make_customer, settings
):
    """The windows kept in Redis are cleared after the lift commits; if that never happened
    (Redis away for a moment), reads from before the lift still do not count."""
    from memory.watch import actor_quarantine_lift

    settings.RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = 3
    customers = [make_customer(name=f"Customer {n}") for n in range(6)]
    http = api_as("crm-stale", "profile")
    for c in customers[:4]:
        http.get(f"/api/customers/{c.pk}/context", {"partitions": "profile"})
    assert ActorQuarantine.objects.get(actor="api:crm-stale").active
    # Lifted without running the after-commit clean-up of the windows.
    actor_quarantine_lift(actor="api:crm-stale", lifted_by="user:sam")

    answered = http.get(f"/api/customers/{customers[5].pk}/context", {"partitions": "profile"})
    assert answered.status_code == 200
    assert not ActorQuarantine.objects.get(actor="api:crm-stale").active


def test_a_fact_write_out_of_scope_is_refused_and_recorded(api_as, known_customer):
    http = api_as("reader", "profile")
    url = f"/api/customers/{known_customer.pk}/facts/"
    posted = http.post(url, {"key": "plan", "value": "Free", "expected_version": 1}, format="json")
    assert posted.status_code == 403
    [entry] = _entries("api:reader")
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.outcome == AuditEntry.Outcome.REFUSED
    assert entry.object_id == known_customer.pk
    assert entry.purpose == "api: write fact"
    assert entry.additional_data == {"refused": ["business"]}
    assert not Fact.objects.filter(customer=known_customer, value="Free").exists()


def test_a_fact_write_by_a_quarantined_client_is_refused_and_recorded(api_as, known_customer):
    http = api_as("writer", "business")
    url = f"/api/customers/{known_customer.pk}/facts/"
    etag = http.get(url).headers["ETag"]
    actor_quarantine(actor="api:writer", reason="by user:sam", quarantined_by="user:sam")

    posted = http.post(url, {"key": "plan", "value": "Free"}, format="json", HTTP_IF_MATCH=etag)

    assert posted.status_code == 403
    refused = _entries("api:writer", outcome=AuditEntry.Outcome.REFUSED)
    assert [(e.action, e.purpose, e.additional_data["reason"]) for e in refused] == [
        (AuditEntry.Action.UPDATE, "api: write fact", "the actor is quarantined")
    ]
    assert not Fact.objects.filter(customer=known_customer, value="Free").exists()
