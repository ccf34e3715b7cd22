"""The responder fills templates only from its context pack: it never states a fact it was
not given, whatever the graph holds and whatever the template asks for."""

from __future__ import annotations

import pytest
from django.utils import timezone

from memory.actors import ALL_PARTITIONS, AgentActor
from memory.selectors import context_read
from memory.services import case_open, customer_create, fact_assert
from orchestrator import pipeline
from orchestrator.admin import ReplyTemplateForm
from orchestrator.agents.base import InboundTurn
from orchestrator.agents.responder import ResponderAgent
from orchestrator.models import ReplyTemplate
from orchestrator.replies import DEFAULT_TEMPLATES

pytestmark = pytest.mark.django_db

TELLING = "[Hi {first_name}. ]Your {case_kind} {case_reference} arrives {fact.delivery_date}."


@pytest.fixture
def known(customer):
    case = case_open(customer=customer, kind="order", reference="88123")
    fact_assert(
        customer=customer, key="delivery_date", value="2026-12-01", asserted_by="import", case=case
    )
    return customer


def _turn(customer) -> InboundTurn:
    return InboundTurn(
        message_id=1,
        customer_id=customer.pk,
        conversation_id=1,
        channel="sms",
        text="where is it",
        sent_at=timezone.now(),
    )


def test_with_the_whole_context_the_template_states_what_it_holds(known, settings):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False  # an agent read with no pipeline run behind it
    pack = context_read(
        actor=AgentActor(name="t", scopes=ALL_PARTITIONS),
        customer=known.pk,
        partitions=["profile", "business"],
        purpose="t",
    )
    agent = ResponderAgent(templates={**DEFAULT_TEMPLATES, "telling": TELLING}, template="telling")
    outcome = agent.run(pack=pack, turn=_turn(known))
    assert outcome.findings["reply"] == "Hi Ana. Your order 88123 arrives 2026-12-01."


def test_without_business_in_its_pack_the_responder_states_no_case_and_no_fact(known, settings):
    settings.RAPPORT_ANOMALY_REQUIRE_RUN = False  # an agent read with no pipeline run behind it
    pack = context_read(
        actor=AgentActor(name="t", scopes=ALL_PARTITIONS),
        customer=known.pk,
        partitions=["profile"],
        purpose="t",
    )
    agent = ResponderAgent(templates={**DEFAULT_TEMPLATES, "telling": TELLING}, template="telling")
    outcome = agent.run(pack=pack, turn=_turn(known))
    reply = outcome.findings["reply"]
    assert "88123" not in reply and "2026-12-01" not in reply
    assert outcome.findings["template"].startswith("acknowledge")
    assert reply == "Hi Ana, thanks for your message. We have it and will get back to you shortly."
    # Every value stated came from the pack.
    pack_text = str(pack.to_json())
    assert all(value in pack_text for value in outcome.findings["stated"])


def test_in_the_pipeline_a_reply_states_only_the_customers_own_context(known, say):
    ReplyTemplate.objects.create(name="order-eta", intent="order_status", body=TELLING)
    told = pipeline.message_process(message_id=say("where is my order?").pk)
    assert told.text == "Hi Ana. Your order 88123 arrives 2026-12-01."

    zed = customer_create(display_name="Zed Ray", identities=[("phone", "+14155550177")])
    reply = pipeline.message_process(message_id=say("where is my order?", sender="+14155550177").pk)
    assert not zed.facts.exists() and not zed.cases.exists()
    assert (
        reply.text
        == "Hi Zed, thanks for your message. We have it and will get back to you shortly."
    )


def test_the_admin_refuses_a_template_asking_for_what_no_context_holds():
    form = ReplyTemplateForm(
        data={
            "name": "bad",
            "intent": "",
            "channel": "",
            "body": "Your card {card_number}",
            "enabled": "on",
        }
    )
    assert not form.is_valid()
    assert "unknown placeholder {card_number}" in str(form.errors["body"])
    good = ReplyTemplateForm(
        data={"name": "ok", "intent": "", "channel": "sms", "body": TELLING, "enabled": "on"}
    )
    assert good.is_valid(), good.errors
