"""The conversation lifecycle: quiet conversations go inactive, then close, each time with a
summary and what they taught reconciled into facts (new, updated, confirmed, contradicted)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from memory.models import Conversation, Fact
from memory.services import fact_assert
from orchestrator import lifecycle, pipeline
from orchestrator.tasks import conversations_sweep

pytestmark = pytest.mark.django_db


def _age(conversation: Conversation, minutes: int) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def test_sweep_makes_a_quiet_conversation_inactive_then_closed_with_summary_and_facts(
    customer, say, settings
):
    settings.CONVERSATION_INACTIVE_AFTER_MINUTES = {"sms": 30}
    settings.CONVERSATION_CLOSE_AFTER_MINUTES = {"sms": 600}
    fact_assert(
        customer=customer,
        key="address",
        value="1 Old Rd",
        asserted_by="import",
        valid_from=timezone.now() - dt.timedelta(days=30),
    )
    inbound = say("My order 88123 should go to 9 Elm St. please, call me after 6pm")
    pipeline.message_process(message_id=inbound.pk)
    conversation = inbound.conversation
    _age(conversation, 10)
    assert conversations_sweep.delay().get() == 0

    _age(conversation, 45)
    assert conversations_sweep.delay().get() == 1
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.INACTIVE
    assert "SMS conversation: 1 customer turn(s), 1 answer(s)" in conversation.summary
    assert "Open: order 88123 open." in conversation.summary
    reconciled = conversation.channel_metadata["reconciled"]
    assert reconciled["updated"] == ["address: 1 Old Rd -> 9 Elm St"]
    assert "contact time=after 6pm" in reconciled["new"]

    _age(conversation, 700)
    assert conversations_sweep.delay().get() == 1
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.closed_at is not None
    assert conversations_sweep.delay().get() == 0


def test_a_statement_contradicted_by_a_newer_one_is_reported_not_reimposed(customer, say):
    inbound = say("please send it to 9 Elm St.")
    pipeline.message_process(message_id=inbound.pk)
    fact_assert(customer=customer, key="address", value="12 Oak Ave", asserted_by="human")

    wrap = lifecycle.conversation_wrap_up(
        conversation_id=inbound.conversation_id, status=Conversation.Status.CLOSED
    )

    assert wrap.reconciled.contradicted == ("address=9 Elm St (now 12 Oak Ave)",)
    assert (
        Fact.objects.get(customer=customer, key="address", valid_until=None).value == "12 Oak Ave"
    )
    assert "Contradicted by newer: address=9 Elm St (now 12 Oak Ave)." in wrap.summary
    assert wrap.conversation.status == Conversation.Status.CLOSED


def test_a_closed_thread_reopens_as_a_new_linked_conversation(customer, say):
    first = say("hi")
    lifecycle.conversation_wrap_up(
        conversation_id=first.conversation_id, status=Conversation.Status.CLOSED
    )
    again = say("hello again")
    assert again.conversation_id != first.conversation_id
    assert again.conversation.previous_id == first.conversation_id


def test_wrapping_up_leaves_an_amount_about_the_quoted_case_on_that_case(customer, say):
    inbound = say("order 88123 cost $49.99 and came broken, text me after 5pm")
    pipeline.message_process(message_id=inbound.pk)

    wrap = lifecycle.conversation_wrap_up(
        conversation_id=inbound.conversation_id, status=Conversation.Status.CLOSED
    )

    amounts = Fact.objects.filter(customer=customer, key="amount_mentioned")
    assert list(amounts.values_list("value", "case__reference")) == [("49.99 USD", "88123")]
    assert wrap.reconciled.new == ("preferred_channel=sms", "contact time=after 5pm")
