"""The console shows a person only what their partitions allow, beside the gate's pack too:
replaced facts and agent traces come masked to an agent without `pii`; and an action on a
message is checked against the message's own conversation, which the person must be able to
open."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from memory.models import Channel, IntentCorrection
from memory.selectors import handoff_open_for
from memory.services import fact_assert
from memory.services.handoffs import conversation_hand_off, handoff_assign
from orchestrator import pipeline
from orchestrator.models import AgentRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(customer, say):
    """Ana moved: her old address replaced by a new one; her SMS thread waits for a person,
    after a turn whose trace holds the number she gave."""
    fact_assert(
        customer=customer,
        key="address",
        value="1 Old Rd",
        asserted_by="import",
        valid_from=timezone.now() - dt.timedelta(days=30),
    )
    fact_assert(customer=customer, key="address", value="9 Elm St", asserted_by="human")
    message = say("Please call me back on +1 415 555 0199, I need a person")
    pipeline.message_process(message_id=message.pk)
    conversation_hand_off(
        conversation=message.conversation,
        reason="the customer asked for a person",
        requested_by="agent:rules",
        trigger_message=message,
    )
    return message.conversation


def test_an_agent_without_pii_sees_the_replaced_address_masked_like_the_current_one(
    agent, boss, client_as, moved
):
    page = client_as(agent).get(f"/console/conversations/{moved.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="fact-old"' in html  # the history is there ...
    assert "1 Old Rd" not in html  # ... masked, as the current value is
    assert "9 Elm St" not in html

    supervisor_page = client_as(boss).get(f"/console/conversations/{moved.pk}/").content.decode()
    assert "1 Old Rd" in supervisor_page and "9 Elm St" in supervisor_page


def test_an_agent_without_pii_sees_agent_traces_masked(agent, boss, client_as, moved):
    traced = json.dumps(list(AgentRun.objects.values_list("output", flat=True)))
    assert "+14155550199" in traced  # the entities agent found the number it was given
    html = client_as(agent).get(f"/console/conversations/{moved.pk}/").content.decode()
    assert "Agent trace" in html
    for raw in ("555 0199", "5550199", "+14155550199"):
        assert raw not in html, raw
    supervisor_page = client_as(boss).get(f"/console/conversations/{moved.pk}/").content.decode()
    assert "+14155550199" in supervisor_page


def test_an_intent_is_corrected_only_in_the_messages_own_conversation(
    agent, other_agent, boss, client_as, moved, say
):
    """The e-mail thread is Ana's too, but it is not the agent's to open: its turns show on
    the SMS page's timeline (one customer, every channel), not as something to act on."""
    email = say("Where is my order 88123?", channel=Channel.EMAIL, sender="ana@example.com")
    pipeline.message_process(message_id=email.pk)
    # A handoff follows the customer across channels: the thread is someone else's then.
    followed = handoff_open_for(conversation=email.conversation)
    if followed is not None:
        handoff_assign(handoff=followed, user=other_agent)
    assert email.conversation_id != moved.pk and email.customer_id == moved.customer_id
    as_agent = client_as(agent)

    page = as_agent.get(f"/console/conversations/{moved.pk}/").content.decode()
    assert f"/messages/{email.pk}/intent/" not in page
    through_sms = f"/console/conversations/{moved.pk}/messages/{email.pk}/intent/"
    assert as_agent.post(through_sms, {"intent": "refund"}).status_code == 404
    own = f"/console/conversations/{email.conversation_id}/messages/{email.pk}/intent/"
    assert as_agent.post(own, {"intent": "refund"}).status_code == 404
    assert not IntentCorrection.objects.filter(message=email).exists()

    # A supervisor may open the e-mail thread: the form posts to its own conversation.
    supervisor_page = client_as(boss).get(f"/console/conversations/{moved.pk}/").content.decode()
    assert own in supervisor_page and through_sms not in supervisor_page
    assert client_as(boss).post(own, {"intent": "refund"}).status_code == 302
    assert IntentCorrection.objects.get(message=email).corrected_intent == "refund"
