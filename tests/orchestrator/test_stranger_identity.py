"""Knowing a customer's order number, phone or e-mail address is not being them: a stranger who
quotes one is kept on a record of their own (a person is asked about a merge), is never greeted
by her name and never sees her details; a real customer on a new phone who gives their name
and order number is recognised at once.
"""

from __future__ import annotations

import pytest

from memory import services
from memory.models import Channel, Conversation, Customer, Fact, MergeProposal, Message
from tests.channels_app.conftest import sms_params

MARIA_PHONE = "+14155550188"
MARIA_EMAIL = "maria.lopez@example.com"
MARIA_ADDRESS = "12 Oak Street, Springfield, IL 62704"


@pytest.fixture
def maria(db) -> Customer:
    maria = services.customer_create(
        display_name="Maria Lopez",
        identities=[("phone", MARIA_PHONE), ("email", MARIA_EMAIL)],
        source="crm",
    )
    services.case_open(customer=maria, kind="order", reference="60482")
    services.fact_assert(
        customer=maria, key="address", value=MARIA_ADDRESS, asserted_by=Fact.AssertedBy.IMPORT
    )
    return maria


@pytest.fixture
def text_in(twilio_post, django_capture_on_commit_callbacks):
    """An SMS through the signed webhook and the pipeline; returns the stored inbound turn."""

    def send(body: str, *, sender: str) -> Message:
        params = sms_params(From=sender, Body=body)
        with django_capture_on_commit_callbacks(execute=True):
            assert twilio_post("/twilio/sms/", params).status_code == 200
        return Message.objects.get(channel=Channel.SMS, provider_id=params["MessageSid"])

    return send


@pytest.fixture
def mail_in(email_post, django_capture_on_commit_callbacks):
    def send(text: str, *, sender: str, message_id: str, headers: str = "") -> Message:
        fields = {
            "from": sender,
            "to": "support@shop.example",
            "subject": "My order",
            "text": text,
            "headers": f"Message-ID: <{message_id}>\n{headers}",
        }
        with django_capture_on_commit_callbacks(execute=True):
            assert email_post(fields).status_code == 200
        return Message.objects.get(channel=Channel.EMAIL, provider_id=f"<{message_id}>")

    return send


def reply_to(message: Message) -> str:
    outbound = Message.objects.filter(
        conversation=message.conversation,
        direction=Message.Direction.OUTBOUND,
        sent_at__gte=message.sent_at,
    ).order_by("pk")
    return " ".join(m.text for m in outbound)


def assert_kept_apart(stranger_turn: Message, maria: Customer, stranger_address: str) -> None:
    stranger_turn.refresh_from_db()
    maria.refresh_from_db()
    assert stranger_turn.customer_id != maria.pk
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
    assert not maria.identities.filter(value=stranger_address).exists()
    assert maria.display_name == "Maria Lopez"
    reply = reply_to(stranger_turn)
    assert reply, "the stranger is still answered"
    assert "Maria" not in reply
    assert "Oak Street" not in reply
    assert "62704" not in reply
    proposal = MergeProposal.objects.get(status=MergeProposal.Status.PENDING)
    assert {proposal.customer_id, proposal.other_customer_id} == {
        maria.pk,
        stranger_turn.customer_id,
    }


def test_a_stranger_quoting_her_order_number_from_a_new_phone_is_only_proposed(maria, text_in):
    turn = text_in("hi what's the status of order 60482?", sender="+14155550777")

    assert_kept_apart(turn, maria, "+14155550777")
    stranger = turn.customer
    assert stranger.display_name == ""
    # What the stranger said stays on their own record: the order they quoted, not hers.
    assert not stranger.facts.filter(key="address").exists()
    assert maria.cases.get(reference="60482").customer_id == maria.pk


def test_a_stranger_giving_another_name_and_a_spoken_account_number_is_not_merged(maria, text_in):
    services.case_open(customer=maria, kind="account", reference="77123")
    turn = text_in(
        "hi this is John Smith, account seven seven one two three, can you tell me the balance",
        sender="+14155550778",
    )

    turn.refresh_from_db()
    assert turn.customer.display_name == "John Smith"
    assert_kept_apart(turn, maria, "+14155550778")
    assert "names differ" in MergeProposal.objects.get().reason


def test_an_email_from_a_new_address_quoting_her_order_is_not_answered_with_her_name(
    maria, mail_in
):
    turn = mail_in(
        "what is the status of order 60482? Where will it be delivered?",
        sender="someone.else@example.org",
        message_id="stranger-1@example.org",
    )

    assert_kept_apart(turn, maria, "someone.else@example.org")
    assert not maria.identities.filter(value="someone.else@example.org").exists()


def test_stating_her_phone_number_is_a_claim_not_proof(maria, mail_in):
    turn = mail_in(
        f"my phone number is {MARIA_PHONE}, what's happening with my stuff?",
        sender="someone.else@example.org",
        message_id="stranger-2@example.org",
    )

    assert_kept_apart(turn, maria, "someone.else@example.org")
    assert "contact" in MergeProposal.objects.get().reason


def test_an_email_reply_into_her_thread_from_another_address_is_a_new_person(maria, mail_in):
    hers = mail_in(
        "Hello, any news on order 60482?\n\nThanks,\nMaria Lopez",
        sender=MARIA_EMAIL,
        message_id="maria-1@example.com",
    )
    assert hers.customer_id == maria.pk

    theirs = mail_in(
        "Where will it be delivered?",
        sender="someone.else@example.org",
        message_id="stranger-3@example.org",
        headers="In-Reply-To: <maria-1@example.com>\nReferences: <maria-1@example.com>\n",
    )

    assert theirs.customer_id != maria.pk
    assert theirs.conversation_id != hers.conversation_id
    assert Conversation.objects.get(pk=hers.conversation_id).customer_id == maria.pk
    assert not maria.identities.filter(value="someone.else@example.org").exists()
    assert "Maria" not in reply_to(theirs)
    # Her own next reply in the thread still lands in her conversation.
    again = mail_in(
        "Any update?",
        sender=MARIA_EMAIL,
        message_id="maria-2@example.com",
        headers="In-Reply-To: <maria-1@example.com>\n",
    )
    assert again.conversation_id == hers.conversation_id


def test_a_real_customer_on_a_new_phone_with_name_and_order_is_recognised(maria, text_in):
    turn = text_in("Hi I'm Maria Lopez, any news on order 60482?", sender="+14155550779")

    turn.refresh_from_db()
    assert turn.customer_id == maria.pk
    assert maria.identities.filter(value="+14155550779").exists()
    assert "Maria" in reply_to(turn)
    assert not MergeProposal.objects.exists()


def test_a_name_given_after_the_order_number_completes_the_evidence(maria, text_in):
    first = text_in("hi what's the status of order 60482?", sender="+14155550780")
    first.refresh_from_db()
    assert first.customer_id != maria.pk

    second = text_in("sorry, it's maria lopez here", sender="+14155550780")

    second.refresh_from_db()
    first.refresh_from_db()
    assert second.customer_id == maria.pk
    assert first.customer_id == maria.pk
    assert maria.identities.filter(value="+14155550780").exists()


def test_an_order_number_and_the_postcode_of_her_address_are_enough(maria, text_in):
    turn = text_in("order 60482, zip code 62704 - where is it?", sender="+14155550781")

    turn.refresh_from_db()
    assert turn.customer_id == maria.pk


def test_her_name_alone_links_nothing(maria, text_in):
    turn = text_in("hi, this is Maria Lopez, can someone call me?", sender="+14155550782")

    turn.refresh_from_db()
    assert turn.customer_id != maria.pk
    assert not MergeProposal.objects.exists()
