"""Memory's rule for evidence that a sender is a known customer: one piece (a reference, a
stated contact detail, a name) only asks a person; two independent pieces link at once; names
that clash or two CRM records always ask."""

from __future__ import annotations

import pytest

from memory import services
from memory.models import Customer, MergeProposal
from memory.services.proposals import names_match


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
