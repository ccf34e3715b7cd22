"""Recognising one person across channels from what they say: a key spelled out on a call
from another phone, a phone number in an e-mail signature, a name they give; and never
merging two known, differently named customers on the strength of one statement."""

from __future__ import annotations

from memory import services
from memory.actors import AgentActor, Partition
from memory.models import Case, Channel, Customer, MergeProposal, Message
from memory.selectors import context_read
from orchestrator import pipeline


def crm_customer(name: str, phone: str, email: str) -> Customer:
    return services.customer_create(
        display_name=name, identities=[("phone", phone), ("email", email)], source="crm"
    )


def test_a_caller_on_another_phone_who_spells_out_their_order_is_recognised(db, say):
    elif_ = crm_customer("Elif Oyelowo", "+17015550141", "elif80@example.com")
    services.case_open(customer=elif_, kind="order", reference="HO-364415")

    call = say(
        "hey um elif oyelowo here using my neighbour's phone it's about order like"
        " h o three six four four one five",
        channel=Channel.VOICE,
        sender="+12075550163",
        thread_key="CA-neighbour",
    )
    pipeline.message_process(message_id=call.pk)

    call.refresh_from_db()
    assert call.customer_id == elif_.pk
    assert elif_.identities.filter(value="+12075550163").exists()
    stranger = Customer.objects.exclude(pk=elif_.pk).get()
    assert stranger.merged_into_id == elif_.pk


def test_a_phone_in_an_email_signature_is_a_claim_a_person_confirms_before_the_sms_joins(
    db, email_post, twilio_post, django_capture_on_commit_callbacks
):
    """A number written in an e-mail is a claim, not proof (anyone can type one): the SMS from
    it is its own record, holding only what it said, until a person accepts the proposal."""
    from tests.channels_app.conftest import sms_params

    with django_capture_on_commit_callbacks(execute=True):
        response = email_post(
            {
                "from": "lars.oyelowo@example.net",
                "to": "support@hotel.example",
                "subject": "Room 412",
                "text": "Our air conditioning has not worked for two nights, booking HB-77120."
                "\n\nThanks,\nLars Oyelowo\nCell: (555) 030-0405\n",
                "headers": "Message-ID: <lars-1@example.net>\n",
            }
        )
        assert response.status_code == 200
    mail = Message.objects.get(channel=Channel.EMAIL, direction="inbound")
    assert "Cell" not in mail.text  # agents read the new part, the sign-off is kept aside
    customer = mail.customer
    customer.refresh_from_db()
    assert customer.display_name == "Lars Oyelowo"
    assert customer.identities.filter(value="+15550300405").exists()

    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(From="+15550300405", Body="anyone?? still no AC"))

    sms = Message.objects.get(channel=Channel.SMS, direction="inbound")
    assert sms.customer_id != customer.pk
    pack = context_read(
        actor=AgentActor(name="responder", scopes=frozenset({Partition.BUSINESS})),
        customer=sms.customer,
        partitions=["business"],
        purpose="test",
        correlation_id=f"message:{sms.pk}",
    )
    assert "air conditioning" not in pack.render_text()
    proposal = MergeProposal.objects.get(status=MergeProposal.Status.PENDING)
    assert {proposal.customer_id, proposal.other_customer_id} == {customer.pk, sms.customer_id}


def test_two_known_customers_with_different_names_are_only_proposed_for_a_merge(db, say):
    crm_customer("Ana Ruiz", "+14155550101", "ana@example.com")
    ben = crm_customer("Ben Okafor", "+14155550102", "ben@example.net")

    message = say("you can also reach me at ana@example.com", sender="+14155550102")
    pipeline.message_process(message_id=message.pk)

    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
    proposal = MergeProposal.objects.get()
    assert {proposal.customer_id, proposal.other_customer_id} >= {ben.pk}
    assert proposal.status == MergeProposal.Status.PENDING


def test_a_replaced_reference_closes_the_old_case_and_is_never_shown_as_current(db, say):
    osvaldo = crm_customer("Osvaldo Amundsen", "+12085550186", "osvaldo@example.com")
    pipeline.message_process(
        message_id=say(
            "booking reference MZA6HF, the suitcase is still missing", sender="+12085550186"
        ).pk
    )
    rebooked = say("the airport rebooked me, the new reference is R478RW", sender="+12085550186")
    pipeline.message_process(message_id=rebooked.pk)

    assert Case.objects.get(customer=osvaldo, reference="MZA6HF").status == Case.Status.CLOSED
    pack = context_read(
        actor=AgentActor(
            name="responder", scopes=frozenset({Partition.BUSINESS, Partition.MESSAGES})
        ),
        customer=osvaldo,
        partitions=["business", "messages"],
        purpose="test",
        correlation_id=f"message:{rebooked.pk}",
    )
    text = pack.render_text()
    assert "R478RW" in text
    assert "MZA6HF" not in text
