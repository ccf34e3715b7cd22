"""Console pages and actions through the test client, per role: who sees what, CSRF on every
action, and every piece of customer context shown is an audited gate read."""

from __future__ import annotations

import pytest
from django.test import Client

from memory.models import AuditEntry, Conversation, CustomerMerge, Handoff, IntentCorrection
from memory.services import merge_propose
from memory.services.handoffs import handoff_assign
from tests.console.conftest import open_handoff

pytestmark = pytest.mark.django_db


def test_the_console_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/")["Location"] == "/console/"


def test_a_compliance_officer_sees_no_live_traffic(auditor, client_as, handed_off):
    conversation = handed_off()
    client = client_as(auditor)
    assert client.get("/console/").status_code == 403
    assert client.get(f"/console/conversations/{conversation.pk}/").status_code == 403
    assert client.post(f"/console/conversations/{conversation.pk}/take-over/").status_code == 403
    assert not AuditEntry.objects.filter(actor_label="user:casey").exists()


def test_a_supervisor_sees_every_open_conversation_what_needs_a_person_first(
    boss, client_as, handed_off, inbound_sms
):
    automated = inbound_sms(sender="+14155550177", text="what are your opening hours").conversation
    waiting = handed_off(sender="+14155550188")
    response = client_as(boss).get("/console/")
    assert response.status_code == 200
    ids = [row.conversation_id for row in response.context["page"].rows]
    assert ids == [waiting.pk, automated.pk]
    assert b"what are your opening hours" in response.content


def test_an_agent_sees_their_conversations_and_the_queue_but_not_others(
    agent, other_agent, client_as, handed_off, inbound_sms
):
    mine = handed_off(sender="+14155550111")
    handoff_assign(handoff=open_handoff(mine), user=agent)
    theirs = handed_off(sender="+14155550122")
    handoff_assign(handoff=open_handoff(theirs), user=other_agent)
    up_for_grabs = handed_off(sender="+14155550133")
    automated = inbound_sms(sender="+14155550144").conversation
    client = client_as(agent)

    rows = client.get("/console/").context["page"].rows
    assert {row.conversation_id for row in rows} == {mine.pk, up_for_grabs.pk}
    assert client.get(f"/console/conversations/{mine.pk}/").status_code == 200
    assert client.get(f"/console/conversations/{up_for_grabs.pk}/").status_code == 200
    for hidden in (theirs, automated):
        assert client.get(f"/console/conversations/{hidden.pk}/").status_code == 404
        assert client.post(f"/console/conversations/{hidden.pk}/take-over/").status_code == 404
    assert Conversation.objects.get(pk=theirs.pk).mode == Conversation.Mode.HANDED_OFF


def test_only_supervisors_reassign_merge_and_read_the_report(
    agent, other_agent, boss, client_as, handed_off, make_customer
):
    conversation = handed_off()
    duplicate = make_customer(name="Ana R.", phone="+14155550988")
    as_agent = client_as(agent)
    assert as_agent.get("/console/report/").status_code == 403
    url = f"/console/conversations/{conversation.pk}/"
    assert as_agent.post(url + "reassign/", {"user_id": other_agent.pk}).status_code == 403
    assert as_agent.post(url + "merge/", {"other_customer_id": duplicate.pk}).status_code == 403

    as_boss = client_as(boss)
    assert as_boss.post(url + "reassign/", {"user_id": other_agent.pk}).status_code == 302
    assert open_handoff(conversation).assigned_to == other_agent
    assert as_boss.post(url + "merge/", {"other_customer_id": duplicate.pk}).status_code == 302
    assert CustomerMerge.objects.get().source_customer_id == duplicate.pk
    assert as_boss.get("/console/report/").status_code == 200


def test_every_action_needs_the_csrf_token(boss, handed_off):
    conversation = handed_off()
    client = Client(enforce_csrf_checks=True)
    client.force_login(boss)
    response = client.post(f"/console/conversations/{conversation.pk}/take-over/")
    assert response.status_code == 403
    assert Conversation.objects.get(pk=conversation.pk).mode == Conversation.Mode.HANDED_OFF
    assert client.get(f"/console/conversations/{conversation.pk}/take-over/").status_code == 405


def test_the_conversation_page_is_one_audited_gate_read_of_what_the_person_holds(
    agent, boss, client_as, handed_off
):
    conversation = handed_off()
    handoff_assign(handoff=open_handoff(conversation), user=agent)
    for user in (boss, agent):
        response = client_as(user).get(f"/console/conversations/{conversation.pk}/")
        assert response.status_code == 200
        assert b"I want a person now" in response.content
    reads = dict(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.ACCESS,
            purpose=f"console: conversation #{conversation.pk}",
            object_pk=str(conversation.customer_id),
        ).values_list("actor_label", "partitions")
    )
    everything = ["business", "emotion", "identities", "messages", "pii", "profile"]
    assert reads == {
        "user:boss": everything,
        "user:alex": [p for p in everything if p != "pii"],  # agents see masked contacts
    }


def test_the_queue_page_costs_a_fixed_number_of_queries_per_row_whatever_the_history(
    boss, client_as, handed_off, inbound_sms, django_assert_max_num_queries
):
    client = client_as(boss)
    client.get("/console/")  # warm the permission cache and content types
    for n in range(3):
        handed_off(sender=f"+1415555030{n}")
    with django_assert_max_num_queries(40) as few:
        client.get("/console/")
    for turn in range(20):
        inbound_sms(sender="+14155550300", text=f"still waiting, message {turn}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/console/")


def test_take_over_reply_and_release(
    boss, client_as, handed_off, say, django_capture_on_commit_callbacks
):
    from orchestrator import pipeline
    from orchestrator.models import PipelineRun

    conversation = handed_off()
    client = client_as(boss)
    url = f"/console/conversations/{conversation.pk}/"

    assert client.post(url + "take-over/").status_code == 302
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.WITH_PERSON
    assert open_handoff(conversation).status == Handoff.Status.TAKEN

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url + "reply/", {"text": "Hi Ana, Sam here. Let me look."})
    assert sent.status_code == 302
    reply = conversation.messages.get(direction="outbound")
    assert (reply.author, reply.author_user, reply.channel) == ("human", boss, "sms")
    assert reply.delivery_status == "sent"  # the console backend delivered it after commit

    follow_up = say("thanks, I'll wait")
    assert pipeline.message_process(message_id=follow_up.pk).message_id is None
    assert PipelineRun.objects.get(inbound_message=follow_up).status == "with_person"

    assert client.post(url + "release/").status_code == 302
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.AUTOMATED
    answered = pipeline.message_process(message_id=say("where is my order 88123?").pk)
    assert answered.message_id is not None


def test_a_person_corrects_a_predicted_intent(boss, client_as, say):
    from orchestrator import pipeline

    message = say("where is my order 88123?")
    pipeline.message_process(message_id=message.pk)
    url = f"/console/conversations/{message.conversation_id}/messages/{message.pk}/intent/"
    assert client_as(boss).post(url, {"intent": "delivery_problem"}).status_code == 302
    correction = IntentCorrection.objects.get(message=message)
    assert (correction.predicted_intent, correction.corrected_intent) == (
        "order_status",
        "delivery_problem",
    )
    assert correction.corrected_by == boss


def test_a_supervisor_settles_a_merge_proposal(boss, client_as, handed_off, make_customer):
    conversation = handed_off()
    other = make_customer(name="Ana Ruiz", phone="+14155550987")
    proposal = merge_propose(
        customer=conversation.customer, other_customer=other, reason="same e-mail", proposed_by="t"
    )
    page = client_as(boss).get(f"/console/conversations/{conversation.pk}/")
    assert b"same e-mail" in page.content
    url = f"/console/conversations/{conversation.pk}/proposals/{proposal.pk}/"
    assert client_as(boss).post(url, {"accept": "on"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    assert CustomerMerge.objects.count() == 1
