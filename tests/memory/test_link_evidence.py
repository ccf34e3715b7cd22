"""Memory's rule for evidence that a sender is a known customer: one piece (a reference, a
stated contact detail, a name) only asks a person; two independent pieces link at once; names
that clash or two CRM records always ask."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from memory import services
from memory.models import Customer, CustomerMerge, Identity, MergeProposal
from memory.services.proposals import names_match
from orchestrator.agents.base import ProposedWrite, WriteKind
from orchestrator.merge import AgentWrites, writes_apply


@pytest.fixture
def maria(db) -> Customer:
    return services.customer_create(
        display_name="Maria Lopez", identities=[("phone", "+14155550188")], source="crm"
    )


@pytest.fixture
def sender(db) -> Customer:
    return services.customer_resolve(channel="sms", address="+14155550777")


def link(sender: Customer, maria: Customer, evidence: set[str], name: str = "") -> Customer:
    return services.customer_link_evidence(
        customer=sender,
        other=maria,
        evidence=evidence,
        reason="test",
        decided_by="agent:test",
        stated_name=name,
    )


@pytest.mark.parametrize(
    ("evidence", "name"),
    [({"reference"}, ""), ({"contact"}, ""), (set(), "Maria Lopez"), ({"name"}, "")],
)
def test_one_piece_of_evidence_only_proposes_a_merge(maria, sender, evidence, name):
    kept = link(sender, maria, evidence, name)

    assert kept.pk == sender.pk
    sender.refresh_from_db()
    assert sender.merged_into_id is None
    assert MergeProposal.objects.get().status == MergeProposal.Status.PENDING


@pytest.mark.parametrize(
    ("evidence", "name"),
    [
        ({"reference"}, "maria lopez"),
        ({"contact"}, "María López"),
        ({"reference", "postcode"}, ""),
    ],
)
def test_two_independent_pieces_link_the_sender_to_the_known_customer(
    maria, sender, evidence, name
):
    linked = link(sender, maria, evidence, name)

    assert linked.pk == maria.pk
    sender.refresh_from_db()
    assert sender.merged_into_id == maria.pk
    assert maria.identities.filter(value="+14155550777").exists()
    assert not MergeProposal.objects.exists()


def test_a_different_name_is_counter_evidence_whatever_else_matches(maria, sender):
    kept = link(sender, maria, {"reference", "postcode", "contact"}, "John Smith")

    assert kept.pk == sender.pk
    assert "names differ" in MergeProposal.objects.get().reason


def test_a_name_matches_on_first_and_last_name_only():
    assert names_match("maria lopez", "Maria Elena Lopez")
    assert not names_match("Maria", "Maria Lopez")
    assert not names_match("Maria Lopes", "Maria Lopez")


# Claimed addresses ------------------------------------------------------------------------------


def age(identity_value: str, days: int) -> None:
    """Make the claim on an address `days` old."""
    Identity.objects.filter(value=identity_value).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_a_customers_own_reach_me_at_is_confirmed_when_that_address_first_writes(maria):
    """ "Text me on ..." then a text from that number: one person, in any contact center."""
    services.identity_link(customer=maria, kind="phone", address="+14155550999")

    found = services.customer_resolve(channel="sms", address="+14155550999")

    assert found.pk == maria.pk
    assert maria.identities.get(value="+14155550999").verified
    merge = CustomerMerge.objects.get()
    assert "claim_confirmed" in merge.reason and "claimed" in merge.reason
    assert not MergeProposal.objects.exists()


def test_an_old_claim_is_only_one_piece_when_the_address_first_writes(sender):
    """A claim weeks old vouches for nothing alone: the address's owner gets a record of their
    own, and a person is asked."""
    services.identity_link(
        customer=sender, kind="email", address="owner@example.org", source="stated in SMS"
    )
    age("owner@example.org", days=45)

    owner = services.customer_resolve(channel="email", address="Owner@Example.org")

    assert owner.pk != sender.pk
    identity = Identity.objects.get(value="owner@example.org")
    assert (identity.customer_id, identity.verified, identity.claimed_by_id) == (
        owner.pk,
        True,
        sender.pk,
    )
    assert not sender.identities.filter(value="owner@example.org").exists()
    proposal = MergeProposal.objects.get(status=MergeProposal.Status.PENDING)
    assert {proposal.customer_id, proposal.other_customer_id} == {owner.pk, sender.pk}
    assert "claimed" in proposal.reason
    # The owner's next message finds the owner's record, not the claimer's.
    assert services.customer_resolve(channel="email", address="owner@example.org").pk == owner.pk


def test_a_claimer_a_person_is_asked_about_vouches_for_nothing(maria, sender):
    """Someone who quoted another customer's details (a proposal is pending about them) and
    then typed an address cannot collect that address's messages by it."""
    link(sender, maria, {"reference"})  # one piece: a proposal, pending
    services.identity_link(customer=sender, kind="email", address="victim@example.org")

    owner = services.customer_resolve(channel="email", address="victim@example.org")

    assert owner.pk not in {sender.pk, maria.pk}
    assert MergeProposal.objects.filter(status=MergeProposal.Status.PENDING).count() == 2


def test_the_claimer_writing_from_the_address_under_their_full_name_is_linked(maria):
    services.identity_link(customer=maria, kind="email", address="maria.new@example.com")

    found = services.customer_resolve(
        channel="email", address="maria.new@example.com", display_name="Maria Lopez"
    )

    assert found.pk == maria.pk
    assert maria.identities.get(value="maria.new@example.com").verified
    assert not MergeProposal.objects.exists()


def test_a_claim_and_another_name_are_kept_apart(maria):
    services.identity_link(customer=maria, kind="email", address="shared@example.com")

    found = services.customer_resolve(
        channel="email", address="shared@example.com", display_name="John Smith"
    )

    assert found.pk != maria.pk
    assert "names differ" in MergeProposal.objects.get().reason


def test_a_claim_and_the_name_said_on_the_new_phone_link_through_the_merge(maria, inbound_sms):
    """ "My new number is ..." weeks ago, then a text from it with her name: the claim and the
    name are two pieces."""
    services.identity_link(customer=maria, kind="phone", address="+14155550999")
    age("+14155550999", days=45)
    turn = inbound_sms(sender="+14155550999", text="hi it's Maria Lopez on my new phone")
    assert turn.customer_id != maria.pk  # not on the old claim alone

    writes_apply(
        message=turn,
        proposals=[
            AgentWrites(
                agent="entities",
                writes=(ProposedWrite(kind=WriteKind.LINK, detail={"name": "Maria Lopez"}),),
            )
        ],
        may_write={"entities": frozenset({WriteKind.LINK})},
    )

    turn.refresh_from_db()
    assert turn.customer_id == maria.pk
    assert maria.identities.filter(value="+14155550999", verified=True).exists()


def test_a_name_alone_on_an_unclaimed_phone_links_nothing(maria, inbound_sms):
    turn = inbound_sms(sender="+14155550998", text="hi it's Maria Lopez")

    writes_apply(
        message=turn,
        proposals=[
            AgentWrites(
                agent="entities",
                writes=(ProposedWrite(kind=WriteKind.LINK, detail={"name": "Maria Lopez"}),),
            )
        ],
        may_write={"entities": frozenset({WriteKind.LINK})},
    )

    turn.refresh_from_db()
    assert turn.customer_id != maria.pk
    assert not MergeProposal.objects.exists()


def test_a_proposal_keeps_the_kinds_of_evidence_it_rests_on(maria, sender):
    link(sender, maria, {"reference"}, "John Smith")

    assert MergeProposal.objects.get().evidence == ["names_differ", "reference"]
