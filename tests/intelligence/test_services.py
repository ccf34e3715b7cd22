"""Applying what a message says to the graph: readings, facts with provenance, cases,
identity links and merge proposals.
"""

from __future__ import annotations

import datetime as dt

import pytest

from memory.models import Case, Fact, Identity, MergeProposal, SentimentReading
from memory.selectors import emotion_trend
from orchestrator.intelligence.services import message_analyse

AT = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def ana(customer):
    return customer  # +14155550101, ana@example.com


def test_message_analysis_records_sentiment_and_facts_with_provenance(ana, inbound_sms):
    message = inbound_sms(
        text="this is ridiculous, order 88123 cost $49.99 and came broken. text me, dont call",
        at=AT,
    )

    analysis = message_analyse(message=message)

    reading = SentimentReading.objects.get(message=message)
    assert reading.label == "negative" and analysis.sentiment.pk == reading.pk
    assert emotion_trend(ana).label == "negative"
    case = Case.objects.get(customer=ana, kind="order", reference="88123")
    assert case.source_message == message
    amount = Fact.objects.get(customer=ana, key="amount_mentioned", valid_until__isnull=True)
    assert (amount.value, amount.case) == ("49.99 USD", case)
    preferred = Fact.objects.get(customer=ana, key="preferred_channel", valid_until__isnull=True)
    assert preferred.value == "sms"
    assert preferred.source_message == message
    assert (preferred.asserted_by, preferred.asserted_by_agent) == ("agent", "entities")
    assert Fact.objects.get(customer=ana, key="avoid_channel").value == "voice"
    assert analysis.intent.alternatives


def test_newly_stated_address_replaces_the_old_one(ana, inbound_sms):
    first = inbound_sms(text="my address is 42 Oak Street", at=AT)
    message_analyse(message=first)
    second = inbound_sms(text="i moved, new address is 9 elm rd", at=AT + dt.timedelta(days=2))

    message_analyse(message=second)

    versions = list(Fact.objects.filter(customer=ana, key="address").order_by("valid_from"))
    assert [f.value for f in versions] == ["42 Oak Street", "9 Elm Rd"]
    old, new = versions
    assert old.valid_until == second.sent_at and old.replaced_by == new
    assert new.is_current and new.source_message == second


def test_stated_email_and_phone_are_linked_to_the_customer(ana, inbound_sms):
    message = inbound_sms(
        text="pls use Ana.New@Example.com and my work cell four one five five five five zero one "
        "seven seven",
        at=AT,
    )

    analysis = message_analyse(message=message)

    linked = {(i.kind, i.value) for i in Identity.objects.filter(customer=ana)}
    assert ("email", "ana.new@example.com") in linked
    assert ("phone", "+14155550177") in linked
    assert len(analysis.applied.identities) == 2
    assert Fact.objects.get(customer=ana, key="email").value == "ana.new@example.com"


def test_stated_address_of_another_customer_proposes_a_merge(ana, make_customer, inbound_sms):
    other = make_customer(name="Ana R.", email="ana.r@example.org")
    message = inbound_sms(text="it's me, I also write from ana.r@example.org", at=AT)

    analysis = message_analyse(message=message)

    assert Identity.objects.get(value="ana.r@example.org").customer == other
    proposal = MergeProposal.objects.get(status=MergeProposal.Status.PENDING)
    assert {proposal.customer, proposal.other_customer} == {ana, other}
    assert proposal.evidence_message == message
    assert analysis.applied.merge_proposals == (proposal,)


def test_analysing_a_message_twice_changes_nothing(ana, inbound_sms):
    message = inbound_sms(text="order 55012 is late, call me after 5pm", at=AT)
    message_analyse(message=message)
    facts = Fact.objects.count()

    message_analyse(message=message)

    assert Fact.objects.count() == facts
    assert Case.objects.filter(reference="55012").count() == 1
    assert SentimentReading.objects.filter(message=message).count() == 1
