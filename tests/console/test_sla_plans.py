"""SLA plans from the admin set the response clocks: the most specific plan for the channel,
the customer's tier and the handed-off intent wins; without one, the settings still do."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from memory.models import Fact
from memory.services import fact_assert
from orchestrator import pipeline
from orchestrator.models import ResponseClock, SlaPlan
from orchestrator.people import clocks

pytestmark = pytest.mark.django_db


def _target(clock: ResponseClock) -> dt.timedelta:
    return clock.due_at - clock.started_at


def test_without_a_plan_the_settings_set_the_target(handed_off, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = {"sms": 240}
    SlaPlan.objects.create(
        name="email only", channel="email", first_response_seconds=9, next_response_seconds=9
    )
    clock = clocks.response_clock_start(conversation=handed_off(), waiting_since=timezone.now())
    assert clock is not None
    assert (_target(clock), clock.plan) == (dt.timedelta(seconds=240), None)


def test_a_gold_customer_gets_the_tier_plan_over_the_channel_plan(handed_off, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = {"sms": 600}
    SlaPlan.objects.create(
        name="sms", channel="sms", first_response_seconds=300, next_response_seconds=900
    )
    gold = SlaPlan.objects.create(
        name="gold on sms",
        channel="sms",
        customer_tier="gold",
        first_response_seconds=60,
        next_response_seconds=120,
    )
    SlaPlan.objects.create(
        name="gold, off",
        customer_tier="gold",
        first_response_seconds=1,
        next_response_seconds=1,
        enabled=False,
    )
    regular = handed_off(sender="+14155550301")
    vip = handed_off(sender="+14155550302")
    fact_assert(customer=vip.customer, key="tier", value="Gold", asserted_by=Fact.AssertedBy.IMPORT)

    now = timezone.now()
    regular_clock = clocks.response_clock_start(conversation=regular, waiting_since=now)
    vip_clock = clocks.response_clock_start(conversation=vip, waiting_since=now)
    assert regular_clock is not None and vip_clock is not None
    assert _target(regular_clock) == dt.timedelta(seconds=300)
    assert (_target(vip_clock), vip_clock.plan) == (dt.timedelta(seconds=60), gold)
    assert clocks.response_target(conversation=vip, kind="next").seconds == 120


def test_an_intent_plan_times_a_handoff_made_through_the_pipeline(
    say, settings, django_capture_on_commit_callbacks
):
    settings.SLA_FIRST_RESPONSE_SECONDS = {"sms": 600}
    SlaPlan.objects.create(
        name="people asked for",
        intent="speak_to_human",
        first_response_seconds=45,
        next_response_seconds=90,
    )
    message = say("Can I talk to a human please")
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.message_process(message_id=message.pk).hand_off
    clock = ResponseClock.objects.get(conversation_id=message.conversation_id)
    assert _target(clock) == dt.timedelta(seconds=45)
    assert clock.plan is not None and clock.plan.name == "people asked for"


def test_a_plan_is_added_in_the_admin_and_a_typo_in_the_intent_is_refused(admin_client):
    client = admin_client
    form = {
        "name": "refunds",
        "channel": "email",
        "customer_tier": " Gold ",
        "intent": "refnud",
        "first_response_seconds": "900",
        "next_response_seconds": "1800",
        "order": "10",
        "enabled": "on",
    }
    refused = client.post("/admin/orchestrator/slaplan/add/", form)
    assert refused.status_code == 200
    assert "unknown intent" in refused.content.decode()
    assert not SlaPlan.objects.exists()

    saved = client.post("/admin/orchestrator/slaplan/add/", {**form, "intent": "refund"})
    assert saved.status_code == 302
    plan = SlaPlan.objects.get()
    assert (plan.customer_tier, plan.intent, plan.specificity) == ("gold", "refund", 3)
    assert client.get("/admin/orchestrator/slaplan/").status_code == 200
    assert client.get("/admin/orchestrator/responseclock/").status_code == 200
