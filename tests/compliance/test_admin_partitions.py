"""The admin shows a person only what their partitions allow, in lists, searches and the audit
trail's own pages, and every customer a page shows is an audited read through the gate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from memory.models import AuditEntry, Fact, Identity
from memory.roles import COMPLIANCE, SUPERVISORS, roles_ensure
from memory.services import fact_assert

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    groups = roles_ensure()

    def make(username: str, role: str, *extra: str) -> Client:
        user = User.objects.create_user(username, password="x" * 12, is_staff=True)
        user.groups.add(groups[role])
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="memory", codename__in=extra)
        )
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def moved(customer):
    """Ana, whose address was replaced: change entries copied both values."""
    fact_assert(customer=customer, key="address", value="1 Old Rd", asserted_by="import")
    fact_assert(customer=customer, key="address", value="9 Elm St", asserted_by="human")
    return customer


def _reads(label: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(actor_label=label, action=AuditEntry.Action.ACCESS).order_by("pk")
    )


def test_a_compliance_officer_lists_customers_by_number_and_the_page_is_audited(
    staff, customer, make_customer
):
    other = make_customer(name="Bo Chen", phone="+14155550888")
    officer = staff("casey", COMPLIANCE)

    page = officer.get("/admin/memory/customer/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Ana Ruiz" not in html and "Bo Chen" not in html
    assert f"Customer #{customer.pk}" in html and f"Customer #{other.pk}" in html
    reads = _reads("user:casey")
    assert sorted(e.object_id for e in reads) == sorted([customer.pk, other.pk])
    assert {(e.purpose, tuple(e.partitions)) for e in reads} == {("admin: customers list", ())}


def test_a_compliance_officer_cannot_find_a_customer_by_phone_or_name(staff, customer):
    officer = staff("casey", COMPLIANCE)
    for query in ("%2B14155550101", "(415) 555-0101", "Ana"):
        html = officer.get(f"/admin/memory/customer/?q={query}").content.decode()
        assert f"Customer #{customer.pk}" not in html, query
        assert "0 customers" in html, query
    assert _reads("user:casey") == []
    identity_search = officer.get("/admin/memory/identity/?q=%2B14155550101").content.decode()
    assert "0 identities" in identity_search


def test_a_supervisor_finds_a_customer_by_phone_and_the_lookup_is_audited(staff, customer):
    supervisor = staff("sam", SUPERVISORS)
    html = supervisor.get("/admin/memory/customer/?q=%2B14155550101").content.decode()
    assert "Ana Ruiz" in html
    [read] = _reads("user:sam")
    assert read.object_id == customer.pk
    assert {"profile", "identities"} <= set(read.partitions)


def test_change_entries_show_identity_values_and_addresses_only_to_those_who_may_read_them(
    staff, moved
):
    identity = Identity.objects.get(customer=moved, kind="phone")
    created = AuditEntry.objects.get(
        content_type__model="identity",
        object_pk=str(identity.pk),
        action=AuditEntry.Action.CREATE,
    )
    replaced = Fact.objects.get(customer=moved, key="address", value="1 Old Rd")
    closed = AuditEntry.objects.filter(
        content_type__model="fact", object_pk=str(replaced.pk)
    ).latest("pk")
    assert "+14155550101" in str(created.changes) and "1 Old Rd" in closed.object_repr

    officer = staff("casey", COMPLIANCE)
    for entry in (created, closed):
        html = officer.get(f"/admin/memory/auditentry/{entry.pk}/change/").content.decode()
        assert "+14155550101" not in html and "1 Old Rd" not in html and "Ana Ruiz" not in html
        assert "[hidden: needs" in html
    assert _reads("user:casey") == []

    # An officer cleared for identities and business, not pii: masked, and an audited read.
    cleared = staff("dana", COMPLIANCE, "read_context_identities", "read_context_business")
    for entry in (created, closed):
        html = cleared.get(f"/admin/memory/auditentry/{entry.pk}/change/").content.decode()
        assert "+14155550101" not in html and "1 Old Rd" not in html
        assert "[hidden: needs" not in html
    reads = _reads("user:dana")
    assert [(e.object_id, e.purpose, e.partitions) for e in reads] == [
        (moved.pk, f"admin: audit entry #{created.pk}", ["identities"]),
        (moved.pk, f"admin: audit entry #{closed.pk}", ["business"]),
    ]


def test_graph_lists_name_customers_only_to_those_holding_profile(staff, moved, inbound_sms):
    inbound_sms(text="hello")
    officer = staff("casey", COMPLIANCE)
    for model in ("conversation", "message", "fact", "identity"):
        html = officer.get(f"/admin/memory/{model}/").content.decode()
        assert "Ana Ruiz" not in html, model
        assert f"Customer #{moved.pk}" in html, model
    supervisor = staff("sam", SUPERVISORS)
    assert "Ana Ruiz" in supervisor.get("/admin/memory/fact/").content.decode()
