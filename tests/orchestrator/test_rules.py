"""Business rules and intent routes made in the admin change what happens to a message."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from memory.models import Case, Fact, Handoff
from memory.services import case_open, fact_assert
from orchestrator import pipeline
from orchestrator.models import BusinessRule, IntentRoute, PipelineRun, ReplyTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("boss", password="correct horse battery")
    client.force_login(admin)
    return client


def rule_form(name: str, conditions: object, actions: object, **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "enabled": "on",
        "priority": "10",
        "conditions": json.dumps(conditions),
        "actions": json.dumps(actions),
        "description": "",
        **extra,
    }


def test_a_rule_saved_in_the_admin_changes_the_outcome(admin_client, make_customer, say):
    make_customer(name="Ben Ode", phone="+14155550111")
    before = say("please cancel my order 55555", sender="+14155550111")
    assert pipeline.message_process(message_id=before.pk).hand_off is False

    response = admin_client.post(
        "/admin/orchestrator/businessrule/add/",
        rule_form(
            "cancellations go to retention",
            {"intent": ["cancel"]},
            [
                {"type": "hand_off", "reason": "retention team"},
                {"type": "set_priority", "priority": "high"},
            ],
        ),
    )
    assert response.status_code == 302, response.content

    make_customer(name="Cy Lee", phone="+14155550112")
    after = say("please cancel my order 66666", sender="+14155550112")
    reply = pipeline.message_process(message_id=after.pk)
    assert reply.hand_off is True
    run = PipelineRun.objects.get(inbound_message=after)
    assert run.decision["rules_matched"] == ["cancellations go to retention"]
    assert run.priority == "high"
    assert Handoff.objects.get(conversation=after.conversation).reason == "retention team"


def test_the_admin_refuses_a_rule_it_could_not_carry_out(admin_client):
    response = admin_client.post(
        "/admin/orchestrator/businessrule/add/",
        rule_form(
            "broken",
            {"intnet": ["cancel"], "confidence_below": 3},
            [{"type": "reply_template", "template": "no-such-template"}, {"type": "explode"}],
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    conditions, actions = errors["conditions"].as_data(), errors["actions"].as_data()
    assert any("unknown condition 'intnet'" in e.message for e in conditions)
    assert any("confidence_below must be a number" in e.message for e in conditions)
    assert any("no reply template named 'no-such-template'" in e.message for e in actions)
    assert any("type must be one of" in e.message for e in actions)
    assert not BusinessRule.objects.exists()


def test_rule_on_case_and_facts_sets_status_tags_and_picks_the_template(customer, say):
    case_open(customer=customer, kind="order", reference="77001")
    ReplyTemplate.objects.create(
        name="vip-cancel",
        body="[Hi {first_name}, |]{case_kind} {case_reference} is now {case_status}. Sorry!",
    )
    fact_assert(customer=customer, key="tier", value="gold", asserted_by=Fact.AssertedBy.IMPORT)
    BusinessRule.objects.create(
        name="gold cancellations",
        priority=5,
        conditions={
            "intent": ["cancel"],
            "fact": {"key": "tier", "equals": "gold"},
            "case_status": {"kind": "order", "status": ["open"]},
            "channel": ["sms"],
        },
        actions=[
            {"type": "set_case_status", "status": "pending", "case_kind": "order"},
            {"type": "add_tag", "tag": "retention"},
            {"type": "reply_template", "template": "vip-cancel"},
        ],
        stop_processing=True,
    )
    BusinessRule.objects.create(
        name="never reached", priority=9, conditions={}, actions=[{"type": "hand_off"}]
    )
    reply = pipeline.message_process(message_id=say("I want to cancel my order please").pk)

    assert Case.objects.get(reference="77001").status == Case.Status.PENDING
    assert Fact.objects.get(customer=customer, key="tag_retention", valid_until=None).value == "yes"
    assert reply.hand_off is False
    # The status in the customer's words, never the internal one ("pending").
    assert reply.text == "Hi Ana, order 77001 is now in progress. Sorry!"


def test_rule_whose_context_does_not_hold_changes_nothing(customer, say):
    BusinessRule.objects.create(
        name="night shift",
        conditions={"time_between": {"from": "02:00", "to": "02:01"}, "channel": ["voice"]},
        actions=[{"type": "hand_off"}],
    )
    reply = pipeline.message_process(message_id=say("hi").pk)
    assert reply.hand_off is False
    run = PipelineRun.objects.get(reply_message_id=reply.message_id)
    assert run.merge["findings"]["rules"]["candidates"] == []


def test_intent_route_to_people_hands_off(customer, say):
    IntentRoute.objects.create(intent="billing_dispute", target=IntentRoute.Target.HUMAN)
    reply = pipeline.message_process(
        message_id=say("I was charged twice for the same thing, I dispute this charge").pk
    )
    run = PipelineRun.objects.get(reply_message_id=reply.message_id)
    assert run.merge["findings"]["intent"]["intent"] == "billing_dispute"
    assert reply.hand_off is True
    assert run.decision["reason"] == "intent billing_dispute is routed to people"
