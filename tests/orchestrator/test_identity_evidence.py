"""Recognising one person across channels from what they say: a key spelled out on a call
from another phone, a phone number in an e-mail signature, a name they give; and never
merging two known, differently named customers on the strength of one statement."""

from __future__ import annotations

from memory import services
from memory.actors import AgentActor, Partition
from memory.models import Case, Channel, Customer, CustomerMerge, MergeProposal, Message
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


def test_a_name_and_a_reference_join_records_through_a_pair_a_person_was_asked_about(db, say):
    """She texts from a new phone about her order, saying she'll write from her known e-mail
    (one piece: a proposal), then calls from a third phone with her name and the order: the
    name is her record's, the order the text's, and the three are one person."""
    elif_ = services.customer_create(
        display_name="Elif Oyelowo", identities=[("email", "elif80@example.com")], source="crm"
    )
    text = say(
        "writing about order HO-364415: it arrived an hour and a half late. i'll send the"
        " details from elif80@example.com",
        sender="+17015550141",
    )
    pipeline.message_process(message_id=text.pk)
    text.refresh_from_db()
    assert text.customer_id != elif_.pk
    assert MergeProposal.objects.filter(status=MergeProposal.Status.PENDING).exists()

    call = say(
        "hey um elif oyelowo here using my neighbour's phone it's about order like"
        " h o three six four four one five",
        channel=Channel.VOICE,
        sender="+12075550163",
        thread_key="CA-neighbour-2",
    )
    pipeline.message_process(message_id=call.pk)

    text.refresh_from_db()
    call.refresh_from_db()
    assert text.customer_id == call.customer_id == elif_.pk
    assert Case.objects.get(reference="HO-364415").customer_id == elif_.pk
    assert not MergeProposal.objects.filter(status=MergeProposal.Status.PENDING).exists()


def test_her_name_and_order_from_a_new_phone_never_fold_in_a_stranger_who_asked_about_it(db, say):
    """A stranger asked about her order first (a proposal, pending); then she texts from a new
    number with her name and the order. She is linked; the stranger stays a stranger."""
    odile = services.customer_create(
        display_name="Odile Szabo", identities=[("phone", "+14155550170")], source="crm"
    )
    services.case_open(customer=odile, kind="order", reference="SM-19535")
    asked = say(
        "Hi can you tell me what's on reservation SM-19535",
        channel=Channel.EMAIL,
        sender="nosy@example.org",
    )
    pipeline.message_process(message_id=asked.pk)
    asked.refresh_from_db()
    assert asked.customer_id != odile.pk

    hers = say("Hi, I've changed numbers. Odile Szabo, reservation SM-19535", sender="+14155550171")
    pipeline.message_process(message_id=hers.pk)

    hers.refresh_from_db()
    asked.refresh_from_db()
    assert hers.customer_id == odile.pk
    assert asked.customer_id != odile.pk
    assert Customer.objects.get(pk=asked.customer_id).merged_into_id is None


def test_a_phone_in_an_email_signature_is_confirmed_when_it_first_texts(
    db, email_post, twilio_post, django_capture_on_commit_callbacks
):
    """A customer who signs with "Cell: ..." and then texts from that number is one person:
    the claim was theirs, about a number nobody held, and the number wrote soon after. (A
    number someone else holds is never taken this way: tests/orchestrator/
    test_stranger_identity.py.)"""
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
    assert customer.identities.filter(value="+15550300405", verified=False).exists()

    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/sms/", sms_params(From="+15550300405", Body="anyone?? still no AC"))

    sms = Message.objects.get(channel=Channel.SMS, direction="inbound")
    assert sms.customer_id == customer.pk
    assert customer.identities.filter(value="+15550300405", verified=True).exists()
    pack = context_read(
        actor=AgentActor(name="responder", scopes=frozenset({Partition.BUSINESS})),
        customer=sms.customer,
        partitions=["business"],
        purpose="test",
        correlation_id=f"message:{sms.pk}",
    )
    assert "HB-77120" in pack.render_text()
    assert "claim_confirmed" in CustomerMerge.objects.get().reason
    assert not MergeProposal.objects.exists()


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
