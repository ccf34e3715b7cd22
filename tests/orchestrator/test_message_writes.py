"""What one inbound message leaves in the graph once the pipeline has read it: its sentiment
reading, the cases it quotes, facts with their provenance, the contact details it states.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memory.models import Case, Customer, Fact, Identity, Message, SentimentReading
from memory.selectors import emotion_trend
from orchestrator import pipeline
from orchestrator.agents.base import AgentOutcome
from orchestrator.agents.registry import BUILTIN_ANALYSTS
from orchestrator.merge import AgentWrites, writes_apply
from orchestrator.models import AgentRun

pytestmark = pytest.mark.django_db


def _processed(say: Callable[..., Message], text: str) -> Message:
    message = say(text)
    pipeline.message_process(message_id=message.pk)
    return message


def test_a_message_leaves_its_sentiment_reading_a_case_and_facts_with_provenance(
    customer: Customer, say: Callable[..., Message]
) -> None:
    message = _processed(
        say, "this is ridiculous, order 88123 cost $49.99 and came broken. text me, dont call"
    )

    reading = SentimentReading.objects.get(message=message)
    assert reading.label == "negative" and reading.model_name.startswith("sentiment-v")
    assert emotion_trend(customer).label == "negative"
    case = Case.objects.get(customer=customer, kind="order", reference="88123")
    assert case.source_message == message
    # The one case the message names is what the amount is about.
    amount = Fact.objects.get(customer=customer, key="amount_mentioned", valid_until__isnull=True)
    assert (amount.value, amount.case) == ("49.99 USD", case)
    preferred = Fact.objects.get(
        customer=customer, key="preferred_channel", valid_until__isnull=True
    )
    assert (preferred.value, preferred.case, preferred.source_message) == ("sms", None, message)
    assert (preferred.asserted_by, preferred.asserted_by_agent) == ("agent", "entities")
    assert Fact.objects.get(customer=customer, key="avoid_channel").value == "voice"


def test_a_newly_stated_address_replaces_the_old_one_which_stays_in_history(
    customer: Customer, say: Callable[..., Message]
) -> None:
    _processed(say, "my address is 42 Oak Street")
    second = _processed(say, "i moved, new address is 9 elm rd")

    versions = list(Fact.objects.filter(customer=customer, key="address").order_by("valid_from"))
    assert [f.value for f in versions] == ["42 Oak Street", "9 Elm Rd"]
    old, new = versions
    assert old.valid_until == second.sent_at and old.replaced_by == new
    assert new.is_current and new.source_message == second


def test_a_stated_email_and_phone_are_linked_as_identities_not_kept_as_facts(
    customer: Customer, say: Callable[..., Message]
) -> None:
    _processed(
        say,
        "pls use Ana.New@Example.com and my work cell four one five five five five zero one"
        " seven seven",
    )

    linked = set(Identity.objects.filter(customer=customer).values_list("kind", "value"))
    assert {("email", "ana.new@example.com"), ("phone", "+14155550177")} <= linked
    assert not Fact.objects.filter(customer=customer, key__in=["email", "phone"]).exists()


def test_merging_a_turns_writes_again_changes_nothing(
    customer: Customer, say: Callable[..., Message]
) -> None:
    message = _processed(say, "order 55012 is late, it cost $20. text me after 5pm")
    facts = list(Fact.objects.order_by("pk").values_list("pk", "value", "valid_until"))
    assert facts

    # A task retried after its merge committed merges the same agents' writes again.
    runs = AgentRun.objects.filter(pipeline_run__inbound_message=message)
    writes_apply(
        message=message,
        proposals=[
            AgentWrites(agent=run.agent_name, writes=AgentOutcome.from_json(run.output).writes)
            for run in runs
        ],
        may_write={name: agent.may_write for name, agent in BUILTIN_ANALYSTS.items()},
    )

    assert list(Fact.objects.order_by("pk").values_list("pk", "value", "valid_until")) == facts
    assert Case.objects.filter(reference="55012").count() == 1
    assert SentimentReading.objects.filter(message=message).count() == 1
