"""Churn risk and buying intent: computed in the pipeline from each inbound turn, stored on the
customer with the turns that showed them, shown in the context pack, and acted on by rules.
Through the signed SMS webhook and the (eager) Celery pipeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from memory.actors import AgentActor, Partition
from memory.models import Channel, CustomerSignal, Message
from memory.selectors import context_read
from memory.services import customer_signal_record
from orchestrator.models import BusinessRule, PipelineRun
from orchestrator.rules import conditions_validate
from tests.channels_app.conftest import sms_params

pytestmark = pytest.mark.django_db

SENDER = "+14155550101"


def texted(twilio_post, capture, body: str) -> PipelineRun:
    params = sms_params(Body=body, From=SENDER)
    with capture(execute=True):
        assert twilio_post("/twilio/sms/", params).status_code == 200
    inbound = Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])
    return PipelineRun.objects.select_related("inbound_message").get(inbound_message=inbound)


def signal(customer_id: int, kind: str) -> CustomerSignal | None:
    return CustomerSignal.objects.filter(customer_id=customer_id, kind=kind).first()


def test_a_customer_about_to_leave_gets_a_churn_signal_naming_the_turn(
    customer, twilio_post, django_capture_on_commit_callbacks, settings
):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False  # the test reads the pack itself
    calm = texted(twilio_post, django_capture_on_commit_callbacks, "where is my order 88123?")
    churn = signal(customer.pk, CustomerSignal.Kind.CHURN_RISK)
    assert churn is not None and churn.level == "low" and churn.evidence == []

    leaving = texted(
        twilio_post,
        django_capture_on_commit_callbacks,
        "that's it, I'm taking my business to another provider, how do I end the contract",
    )
    churn = signal(customer.pk, CustomerSignal.Kind.CHURN_RISK)
    assert churn is not None and churn.score >= 0.5, churn
    assert churn.evidence_message_ids == [leaving.inbound_message_id]
    assert calm.inbound_message_id not in churn.evidence_message_ids
    buying = signal(customer.pk, CustomerSignal.Kind.BUYING_INTENT)
    assert buying is not None and buying.score < 0.5
    assert leaving.merge["findings"]["sentiment"]["churn"] >= 0.5

    pack = context_read(
        actor=AgentActor(name="t", scopes=frozenset({Partition.BUSINESS})),
        customer=customer.pk,
        partitions=["business"],
        purpose="test: signals in the pack",
    )
    (strongest, *_) = pack.signals
    assert strongest.kind == "churn_risk"
    assert strongest.evidence_message_ids == (leaving.inbound_message_id,)
    assert "Signals: churn risk" in pack.render_text()


def test_a_ready_buyer_gets_a_buying_signal(
    customer, twilio_post, django_capture_on_commit_callbacks
):
    run = texted(
        twilio_post,
        django_capture_on_commit_callbacks,
        "do you have the 65 inch tv in stock? I'd like to order two today",
    )
    buying = signal(customer.pk, CustomerSignal.Kind.BUYING_INTENT)
    assert buying is not None and buying.score >= 0.5, buying
    assert buying.evidence_message_ids == [run.inbound_message_id]
    churn = signal(customer.pk, CustomerSignal.Kind.CHURN_RISK)
    assert churn is not None and churn.score < 0.5


def test_evidence_accumulates_and_fades_with_time_and_ordinary_turns(customer, inbound_sms):
    first, second, ordinary = (inbound_sms(text=f"turn {n}") for n in range(3))
    customer_signal_record(message=first, kind="churn_risk", score=0.6)
    both = customer_signal_record(message=second, kind="churn_risk", score=0.6)
    assert both.score == pytest.approx(1 - 0.4 * 0.4)  # two strong turns say more than one
    assert both.evidence_message_ids == [second.pk, first.pk]
    assert customer_signal_record(message=second, kind="churn_risk", score=0.9).score == both.score

    CustomerSignal.objects.filter(pk=both.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=14)
    )
    eased = customer_signal_record(message=ordinary, kind="churn_risk", score=0.05)
    assert eased.score == pytest.approx(both.score * 0.5 * 0.9, abs=0.01)
    assert eased.level == "medium" or eased.score < both.score


def test_a_rule_raises_the_priority_of_a_customer_at_risk_and_hands_them_to_people(
    customer, twilio_post, django_capture_on_commit_callbacks
):
    conditions = {"churn_risk_at_least": 0.6}
    assert conditions_validate(conditions) == []
    assert conditions_validate({"churn_risk_at_least": 3}) != []
    BusinessRule.objects.create(
        name="save customers at risk",
        priority=1,
        conditions=conditions,
        actions=[
            {"type": "set_priority", "priority": "urgent"},
            {"type": "hand_off", "reason": "retention team"},
        ],
    )
    calm = texted(twilio_post, django_capture_on_commit_callbacks, "what are your opening hours")
    assert calm.priority == "normal" and not calm.handed_off

    leaving = texted(
        twilio_post,
        django_capture_on_commit_callbacks,
        "cancel my contract, I've found a cheaper provider and I'm switching",
    )
    assert leaving.priority == "urgent", leaving.decision
    assert leaving.handed_off and leaving.decision["reason"] == "retention team"
    assert "save customers at risk" in leaving.decision["rules_matched"]
