"""Masking covers whole postal addresses (street, unit, town, state and ZIP, UK postcodes) and the
last four digits of a card, each the same token wherever it appears in a pack, and leaves order
numbers, times and everyday words alone.
"""

from __future__ import annotations

import json

import pytest

from memory import services
from memory.actors import AgentActor, Partition
from memory.redaction import Redactor
from memory.selectors import context_read

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "send it to 3 Harbor View, Arlington, VA 22201 please",
            ["Harbor", "22201", "VA"],
            ["send it to", "please"],
        ),
        ("3 harbor view, arlington, va 22201", ["harbor", "22201"], []),
        ("Arlington, VA 22201", ["Arlington", "22201"], []),
        (
            "I moved to Springfield, Illinois 62701 last week",
            ["Springfield", "62701"],
            ["last week"],
        ),
        (
            "ship to 500 W 5th Ave Apt 4B, New York, NY 10001-1234",
            ["5th", "4B", "10001"],
            ["ship to"],
        ),
        ("Apt 4B, 500 W 5th Ave", ["5th", "4B"], []),
        ("1600 Pennsylvania Avenue NW, Washington, DC 20500", ["Pennsylvania", "20500"], []),
        ("Flat 2, 10 Downing Street, London SW1A 2AA", ["Downing", "SW1A", "Flat 2"], []),
        ("postcode is SW1A 2AA", ["SW1A"], ["postcode is"]),
        ("my zip is 22201", ["22201"], ["my zip is"]),
        ("mail it to PO Box 1234", ["1234"], ["mail it to"]),
        ("card ending 4242 was declined", ["4242"], ["card ending", "declined"]),
        ("my Visa ending in 4242", ["4242"], ["Visa ending in"]),
        ("last four 4242", ["4242"], ["last four"]),
        ("the last 4 digits are 4242", ["4242"], ["last 4 digits are"]),
        ("charged to xxxx-xxxx-xxxx-4242", ["4242"], []),
    ],
)
def test_addresses_and_partial_cards_are_masked(text, gone, kept):
    masked = Redactor().text(text)
    for raw in gone:
        assert raw not in masked, masked
    for words in kept:
        assert words in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "order 88123 on 2026-11-24 at 10:30 for $1234.56",
        "I waited 2 hours at the park",
        "call me on 88123 in the morning",
        "the number ending 0101 is mine",
        "ship it in 12345 boxes",
        "booking AB12CD confirmed",
    ],
)
def test_what_is_not_an_address_or_card_is_left_alone(text):
    assert Redactor().text(text) == text


def test_one_address_or_card_is_one_token_however_it_is_written():
    redactor = Redactor()
    first = redactor.text("send to 3 Harbor View, Arlington, VA 22201; card ending 4242")
    second = redactor.text("3 harbor view arlington va 22201, last four 4242")
    assert first == "send to [address-1]; card ending [card-1]"
    assert second == "[address-1], last four [card-1]"
    assert redactor.text("other card ending 1881") == "other card ending [card-2]"


def test_a_pack_without_pii_carries_no_address_or_card_digits(customer, inbound_sms):
    message = inbound_sms(text="new address 3 Harbor View, Arlington, VA 22201, card ending 4242")
    services.fact_assert(
        customer=customer,
        key="shipping_address",
        value="3 Harbor View, Arlington, VA 22201",
        asserted_by="agent",
    )
    pack = context_read(
        actor=AgentActor(name="t", scopes=frozenset(Partition) - {Partition.PII}),
        customer=customer,
        partitions=["messages", "business"],
        purpose="masking check",
        correlation_id=f"message:{message.pk}",  # an agent at work on that message
    )
    seen = json.dumps(pack.to_json()) + pack.render_text()
    for raw in ("Harbor", "Arlington", "22201", "4242"):
        assert raw not in seen
    assert pack.facts[0].value == "[address-1]" and "[address-1]" in pack.turns[0].text
