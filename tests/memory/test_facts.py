"""Business state: cases and versioned facts with provenance."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from memory import services
from memory.models import Case, Fact


def test_replaced_fact_leaves_current_but_stays_in_history(customer, inbound_sms):
    first_message = inbound_sms(text="send it to 12 Oak Ave")
    old = services.fact_assert(
        customer=customer,
        key="shipping_address",
        value="12 Oak Ave",
        asserted_by=Fact.AssertedBy.AGENT,
        asserted_by_agent="entities",
        source_message=first_message,
        confidence=0.9,
    )
    second_message = inbound_sms(text="I moved, ship to 9 Elm St")
    new = services.fact_assert(
        customer=customer,
        key="shipping_address",
        value="9 Elm St",
        asserted_by=Fact.AssertedBy.AGENT,
        asserted_by_agent="entities",
        source_message=second_message,
    )

    current = Fact.objects.filter(customer=customer, valid_until__isnull=True)
    assert list(current.values_list("value", flat=True)) == ["9 Elm St"]
    old.refresh_from_db()
    assert old.valid_until == new.valid_from == second_message.sent_at
    assert old.replaced_by_id == new.pk
    history = Fact.objects.filter(customer=customer, key="shipping_address").order_by("valid_from")
    assert [(f.value, f.source_message_id) for f in history] == [
        ("12 Oak Ave", first_message.pk),
        ("9 Elm St", second_message.pk),
    ]


def test_restating_the_current_value_adds_no_version(customer):
    first = services.fact_assert(
        customer=customer, key="Plan", value="Team Growth", asserted_by="customer", confidence=0.6
    )
    again = services.fact_assert(
        customer=customer, key="plan", value="team growth", asserted_by="customer", confidence=0.9
    )
    assert again.pk == first.pk
    assert again.confidence == 0.9
    assert Fact.objects.filter(customer=customer, key="plan").count() == 1


def test_a_late_older_statement_is_filed_as_history(customer):
    now = timezone.now()
    services.fact_assert(
        customer=customer, key="seats", value="58", asserted_by="customer", valid_from=now
    )
    late = services.fact_assert(
        customer=customer,
        key="seats",
        value="46",
        asserted_by="customer",
        valid_from=now - dt.timedelta(days=2),
    )
    assert late.valid_until == now
    current = Fact.objects.get(customer=customer, key="seats", valid_until__isnull=True)
    assert current.value == "58"


def test_database_allows_one_current_value_per_key(customer):
    services.fact_assert(customer=customer, key="plan", value="Scale 50", asserted_by="customer")
    with pytest.raises(IntegrityError), transaction.atomic():
        Fact.objects.create(customer=customer, key="plan", value="Other", asserted_by="customer")


def test_case_facts_are_versioned_per_case(customer):
    order = services.case_open(customer=customer, kind="order", reference="88123")
    other = services.case_open(customer=customer, kind="order", reference="99001")
    services.fact_assert(
        customer=customer, case=order, key="status", value="shipped", asserted_by="system"
    )
    services.fact_assert(
        customer=customer, case=other, key="status", value="processing", asserted_by="system"
    )
    services.fact_assert(
        customer=customer, case=order, key="status", value="delivered", asserted_by="system"
    )
    current = Fact.objects.filter(customer=customer, valid_until__isnull=True)
    assert sorted(current.values_list("case__reference", "value")) == [
        ("88123", "delivered"),
        ("99001", "processing"),
    ]


def test_case_open_is_idempotent_and_status_changes_stamp_closing(customer):
    case = services.case_open(customer=customer, kind="order", reference="88123", title="Phone")
    assert services.case_open(customer=customer, kind="order", reference="88123").pk == case.pk
    closed = services.case_set_status(case=case, status=Case.Status.RESOLVED)
    assert closed.closed_at is not None and not closed.is_open
    reopened = services.case_set_status(case=case, status=Case.Status.OPEN)
    assert reopened.closed_at is None and reopened.is_open


def test_a_fact_cannot_point_at_another_customers_case(customer, make_customer):
    other_case = services.case_open(customer=make_customer(), kind="order", reference="1")
    with pytest.raises(ValueError, match="another customer"):
        services.fact_assert(
            customer=customer, case=other_case, key="k", value="v", asserted_by="system"
        )
