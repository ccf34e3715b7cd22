"""The graph in the admin: pages render, search finds customers, opening one is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from memory import services
from memory.models import AuditEntry, Customer
from memory.roles import AGENTS, roles_ensure


@pytest.fixture
def ana_history(customer, inbound_sms):
    message = inbound_sms()
    services.sentiment_record(message=message, label="negative", score=-0.5)
    case = services.case_open(customer=customer, kind="order", reference="88123")
    services.fact_assert(
        customer=customer, key="shipping_address", value="12 Oak Ave", asserted_by="import"
    )
    services.fact_assert(
        customer=customer, key="shipping_address", value="9 Elm St", asserted_by="customer"
    )
    return customer, message, case


@pytest.fixture
def supervisor_client(client, supervisor):
    supervisor.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="memory", codename__startswith="view_")
    )
    client.force_login(supervisor)
    return client


def test_customer_page_shows_every_layer_and_is_an_audited_access(
    supervisor_client, ana_history, supervisor
):
    customer, message, case = ana_history
    before = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).count()

    response = supervisor_client.get(reverse("admin:memory_customer_change", args=[customer.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for expected in (
        "+14155550101",
        "ana@example.com",
        "88123",
        "9 Elm St",
        "12 Oak Ave",
        "Negative",
    ):
        assert expected in page
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS)
    assert entries.count() == before + 1
    entry = entries.latest("timestamp")
    assert entry.actor_id == supervisor.pk
    assert entry.object_pk == str(customer.pk)
    assert entry.purpose == f"admin: customer #{customer.pk}"
    assert set(entry.partitions) == {
        "profile",
        "identities",
        "messages",
        "business",
        "emotion",
        "pii",
    }


@pytest.mark.parametrize(
    "url_name", ["message", "fact", "case", "conversation", "sentimentreading", "identity"]
)
def test_other_graph_pages_render_and_audit_their_customer(
    supervisor_client, ana_history, url_name
):
    customer, message, case = ana_history
    obj = {
        "message": message,
        "fact": customer.facts.first(),
        "case": case,
        "conversation": message.conversation,
        "sentimentreading": message.sentiment,
        "identity": customer.identities.first(),
    }[url_name]
    assert supervisor_client.get(reverse(f"admin:memory_{url_name}_changelist")).status_code == 200
    response = supervisor_client.get(reverse(f"admin:memory_{url_name}_change", args=[obj.pk]))
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("timestamp")
    assert entry.object_pk == str(customer.pk)
    assert entry.purpose.startswith("admin: ")


@pytest.mark.parametrize("typed", ["(415) 555-0101", "ANA@example.com", "88123", "Ruiz"])
def test_search_finds_the_customer_by_phone_email_reference_or_name(
    supervisor_client, ana_history, typed
):
    customer, *_ = ana_history
    response = supervisor_client.get(reverse("admin:memory_customer_changelist"), {"q": typed})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [customer]


def test_person_without_pii_sees_no_identities_and_the_read_says_so(client, ana_history):
    customer, *_ = ana_history
    roles_ensure()
    agent = User.objects.create_user("hana", password="x-very-long-pass", is_staff=True)
    agent.groups.add(Group.objects.get(name=AGENTS))
    agent.user_permissions.add(*Permission.objects.filter(codename="view_customer"))
    client.force_login(agent)
    response = client.get(reverse("admin:memory_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    assert "ana@example.com" not in response.content.decode()
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("timestamp")
    assert "pii" not in entry.partitions and entry.actor_id == agent.pk


def test_merge_action_folds_selected_customers_into_the_oldest(
    supervisor_client, customer, make_customer, supervisor
):
    newer = make_customer(name="Ana at work")
    supervisor.user_permissions.add(*Permission.objects.filter(codename="change_customer"))
    response = supervisor_client.post(
        reverse("admin:memory_customer_changelist"),
        {"action": "merge_selected", "_selected_action": [customer.pk, newer.pk]},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=newer.pk).merged_into_id == customer.pk


def test_graph_rows_cannot_be_edited_in_the_admin(supervisor_client, ana_history):
    customer, message, _ = ana_history
    response = supervisor_client.post(
        reverse("admin:memory_message_change", args=[message.pk]), {"text": "rewritten"}
    )
    assert response.status_code in {302, 403} or "rewritten" not in response.content.decode()
    message.refresh_from_db()
    assert message.text != "rewritten"
