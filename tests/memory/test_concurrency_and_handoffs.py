"""Optimistic concurrency on business state, handoffs to people, switches and going quiet."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from memory import services
from memory.models import (
    Case,
    ChannelSwitch,
    Conversation,
    Customer,
    Fact,
    Handoff,
    WriteConflict,
)
from memory.services import handoffs


def business_version(customer: Customer) -> int:
    return Customer.objects.get(pk=customer.pk).business_version


def test_every_business_write_bumps_the_version(customer):
    start = business_version(customer)
    case = services.case_open(customer=customer, kind="order", reference="88123")
    services.fact_assert(customer=customer, key="plan", value="Team Growth", asserted_by="agent")
    services.case_set_status(case=case, status=Case.Status.RESOLVED)
    assert business_version(customer) == start + 3


def test_conflicting_write_from_a_stale_version_keeps_the_newer_statement(customer):
    now = timezone.now()
    read_version = business_version(customer)
    # Another agent writes first, stating a value made later in time.
    services.fact_assert(
        customer=customer,
        key="seats",
        value="58",
        asserted_by="agent",
        asserted_by_agent="entities",
        valid_from=now,
    )
    # Our agent decided on the old version, from an earlier message.
    kept = services.fact_assert(
        customer=customer,
        key="seats",
        value="46",
        asserted_by="agent",
        asserted_by_agent="rules",
        valid_from=now - dt.timedelta(hours=1),
        expected_version=read_version,
    )

    assert kept.value == "58"
    conflict = WriteConflict.objects.get()
    assert (conflict.key, conflict.attempted_value, conflict.kept_value) == ("seats", "46", "58")
    assert conflict.resolution == WriteConflict.Resolution.KEPT_NEWER
    assert conflict.writer == "rules"
    assert conflict.expected_version == read_version


def test_conflicting_write_that_is_newer_is_applied_and_still_recorded(customer):
    now = timezone.now()
    read_version = business_version(customer)
    services.fact_assert(
        customer=customer,
        key="seats",
        value="46",
        asserted_by="agent",
        valid_from=now - dt.timedelta(hours=1),
    )
    applied = services.fact_assert(
        customer=customer,
        key="seats",
        value="58",
        asserted_by="agent",
        valid_from=now,
        expected_version=read_version,
    )
    assert applied.value == "58" and applied.is_current
    assert WriteConflict.objects.get().resolution == WriteConflict.Resolution.APPLIED


def test_write_from_a_stale_version_on_an_untouched_key_is_no_conflict(customer):
    read_version = business_version(customer)
    services.fact_assert(customer=customer, key="plan", value="Scale 50", asserted_by="agent")
    services.fact_assert(
        customer=customer,
        key="seats",
        value="58",
        asserted_by="agent",
        expected_version=read_version,
    )
    assert not WriteConflict.objects.exists()


def test_stale_case_status_change_loses_to_the_later_decision(customer):
    case = services.case_open(customer=customer, kind="claim", reference="HC-1")
    read_version = business_version(customer)
    services.case_set_status(case=case, status=Case.Status.RESOLVED, writer="user:sam")
    after = services.case_set_status(
        case=case, status=Case.Status.PENDING, expected_version=read_version, writer="agent:rules"
    )
    assert after.status == Case.Status.RESOLVED
    assert WriteConflict.objects.get().key == "case:HC-1:status"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_leave_two_current_values(make_customer):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    customer = make_customer()
    errors: list[BaseException] = []

    def write(value: str) -> None:
        try:
            for n in range(5):
                services.fact_assert(
                    customer=customer, key="address", value=f"{value} {n}", asserted_by="agent"
                )
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("north", "south")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert (
        Fact.objects.filter(customer=customer, key="address", valid_until__isnull=True).count() == 1
    )
    assert Fact.objects.filter(customer=customer, key="address").count() == 10


def test_hand_off_take_over_and_release(customer, inbound_sms, supervisor):
    message = inbound_sms(text="I want to talk to a person")
    conversation = message.conversation
    handoff = handoffs.conversation_hand_off(
        conversation=conversation,
        reason="asked for a person",
        requested_by="customer",
        trigger_message=message,
    )
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.HANDED_OFF
    assert not conversation.automation_may_reply
    again = handoffs.conversation_hand_off(
        conversation=conversation, reason="again", requested_by="agent:rules"
    )
    assert again.pk == handoff.pk

    taken = handoffs.conversation_take_over(conversation=conversation, user=supervisor)
    assert taken.pk == handoff.pk and taken.assigned_to == supervisor
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.WITH_PERSON

    handoffs.conversation_release(conversation=conversation, released_by="user:sam")
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.AUTOMATED and conversation.automation_may_reply
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.RELEASED


def test_channel_switch_links_the_new_conversation_once(customer, inbound_sms):
    sms = inbound_sms().conversation
    call = services.conversation_get_or_open(customer=customer, channel="voice", thread_key="CA1")
    switch = services.conversation_record_channel_switch(
        to_conversation=call,
        from_conversation=sms,
        handover_summary="order 88123 open",
        carried_case_ids=[1],
        latency_ms=3.5,
    )
    again = services.conversation_record_channel_switch(
        to_conversation=call,
        from_conversation=sms,
        handover_summary="x",
        carried_case_ids=[],
    )
    assert again.pk == switch.pk and ChannelSwitch.objects.count() == 1
    call.refresh_from_db()
    assert call.previous_id == sms.pk


def test_a_closed_thread_reopens_as_a_new_linked_conversation(customer, inbound_sms):
    first = inbound_sms(text="hello").conversation
    quiet = services.conversation_go_quiet(conversation=first, status="inactive", summary="said hi")
    assert quiet.status == "inactive" and quiet.summary == "said hi"
    woken = inbound_sms(text="still there?").conversation
    assert woken.pk == first.pk
    woken.refresh_from_db()
    assert woken.status == "active"

    services.conversation_go_quiet(conversation=first, status="closed", summary="done")
    reopened = inbound_sms(text="one more thing").conversation
    assert reopened.pk != first.pk and reopened.previous_id == first.pk
