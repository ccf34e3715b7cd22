"""Identities: normalisation, uniqueness, resolving inbound addresses, linking and merging."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from memory import services
from memory.identities import InvalidAddress, normalize_email, normalize_phone
from memory.models import (
    AuditEntry,
    Case,
    Channel,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    Message,
)


@pytest.mark.parametrize(
    "raw",
    ["+1 415 555 0101", "(415) 555-0101", "415.555.0101", "4155550101", "+1-415-555-0101"],
)
def test_phone_written_any_common_way_normalises_to_e164(raw):
    assert normalize_phone(raw) == "+14155550101"


def test_phone_from_another_region_keeps_its_country_code():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("raw", ["hello", "12", ""])
def test_text_that_is_not_a_phone_is_refused(raw):
    with pytest.raises(InvalidAddress):
        normalize_phone(raw)


def test_email_is_lower_cased_and_stripped_of_display_name():
    assert normalize_email("Ana Ruiz <Ana.Ruiz@Example.COM>") == "ana.ruiz@example.com"
    with pytest.raises(InvalidAddress):
        normalize_email("not-an-address")


def test_identity_is_unique_across_customers(make_customer):
    make_customer(phone="+14155550199")
    other = Customer.objects.create(display_name="Someone else")
    with pytest.raises(IntegrityError), transaction.atomic():
        Identity.objects.create(customer=other, kind="phone", value="+14155550199")


def test_resolve_finds_the_customer_whatever_the_phone_format(customer):
    found = services.customer_resolve(channel=Channel.SMS, address="(415) 555-0101")
    assert found.pk == customer.pk
    found_by_mail = services.customer_resolve(channel=Channel.EMAIL, address="ANA@example.com")
    assert found_by_mail.pk == customer.pk


def test_resolve_creates_a_customer_on_first_contact(db):
    new = services.customer_resolve(channel=Channel.VOICE, address="+14155550177")
    identity = new.identities.get()
    assert (identity.kind, identity.value, identity.verified) == ("phone", "+14155550177", True)
    assert services.customer_resolve(channel=Channel.SMS, address="+14155550177").pk == new.pk
    assert Customer.objects.count() == 1


def test_linking_an_address_held_by_another_customer_is_refused(customer, make_customer):
    other = make_customer(name="Ben", email="ben@example.com")
    with pytest.raises(services.IdentityBelongsToAnotherCustomer) as refusal:
        services.identity_link(customer=customer, kind="email", address="Ben@Example.com")
    assert refusal.value.identity.customer_id == other.pk


def test_linking_a_new_address_adds_an_identity(customer):
    identity = services.identity_link(
        customer=customer, kind="phone", address="415 555 0142", source="stated in SMS"
    )
    assert identity.value == "+14155550142"
    assert identity.verified is False
    again = services.identity_link(customer=customer, kind="phone", address="+14155550142")
    assert again.pk == identity.pk


def test_merge_moves_everything_and_is_recorded(customer, make_customer, inbound_sms):
    duplicate = make_customer(name="A. Ruiz", phone="+14155550188", email="ana.r@example.com")
    message = inbound_sms(sender="+14155550188", text="it's Ana again, from my work phone")
    services.sentiment_record(message=message, label="neutral", score=0.0)
    case = services.case_open(customer=duplicate, kind="order", reference="88123")
    services.fact_assert(
        customer=duplicate, key="shipping_address", value="9 Elm St", asserted_by="customer"
    )
    services.fact_assert(
        customer=duplicate, case=case, key="issue", value="cracked screen", asserted_by="customer"
    )

    merge = services.customer_merge(source=duplicate, target=customer, merged_by="user:sam")

    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == customer.pk
    assert set(customer.identities.values_list("value", flat=True)) == {
        "+14155550101",
        "ana@example.com",
        "+14155550188",
        "ana.r@example.com",
    }
    assert Message.objects.get(pk=message.pk).customer_id == customer.pk
    assert Conversation.objects.get(pk=message.conversation_id).customer_id == customer.pk
    assert Case.objects.get(pk=case.pk).customer_id == customer.pk
    assert Fact.objects.filter(customer=customer).count() == 2
    assert customer.sentiment_readings.count() == 1
    assert merge.moved["identities"] == 2 and merge.moved["messages"] == 1
    assert CustomerMerge.objects.filter(target=customer, source_customer_id=duplicate.pk).exists()
    # auditlog recorded the moves as updates.
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.UPDATE, object_pk=str(message.pk)
    ).exists()


def test_merge_keeps_the_newer_of_two_current_values(customer, make_customer):
    duplicate = make_customer(name="Ana R.")
    services.fact_assert(
        customer=customer, key="shipping_address", value="12 Oak Ave", asserted_by="customer"
    )
    services.fact_assert(
        customer=duplicate, key="shipping_address", value="9 Elm St", asserted_by="customer"
    )

    services.customer_merge(source=duplicate, target=customer, merged_by="user:sam")

    current = Fact.objects.get(customer=customer, key="shipping_address", valid_until__isnull=True)
    assert current.value == "9 Elm St"
    old = Fact.objects.get(customer=customer, key="shipping_address", value="12 Oak Ave")
    assert old.valid_until is not None and old.replaced_by_id == current.pk


def test_merge_into_itself_or_twice_is_refused(customer, make_customer):
    with pytest.raises(services.MergeRefused):
        services.customer_merge(source=customer, target=customer, merged_by="user:sam")
    duplicate = make_customer()
    services.customer_merge(source=duplicate, target=customer, merged_by="user:sam")
    with pytest.raises(services.MergeRefused):
        services.customer_merge(source=duplicate, target=customer, merged_by="user:sam")


def test_accepted_merge_proposal_merges_newer_into_older(customer, make_customer):
    newer = make_customer(name="Ana (work)")
    proposal = services.merge_propose(
        customer=newer, other_customer=customer, reason="same name", proposed_by="agent:entities"
    )
    assert (
        services.merge_propose(
            customer=customer, other_customer=newer, reason="again", proposed_by="agent:entities"
        ).pk
        == proposal.pk
    )

    services.merge_proposal_decide(proposal=proposal, accept=True, decided_by="user:sam")

    newer.refresh_from_db()
    assert newer.merged_into_id == customer.pk
