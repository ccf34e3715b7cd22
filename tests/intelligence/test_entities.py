"""Entity extraction on real-looking messages: typos, lower-case SMS, speech transcripts."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestrator.intelligence.entities.entity import EntityKind
from orchestrator.intelligence.entities.extract import extract_entities

# A Tuesday afternoon.
AT = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def _found(text: str, kind: EntityKind) -> set[tuple[str, str]]:
    return {(e.key, e.value) for e in extract_entities(text, at=AT) if e.kind == kind}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, order 88123 arrived with a cracked screen", ("order", "88123")),
        ("ordr #a-55123 still not here!!!", ("order", "A-55123")),
        ("uh yeah my order eight eight one two three never came", ("order", "88123")),
        ("my acct number is 778812", ("account", "778812")),
        ("claim CLM-20931 was denied", ("claim", "CLM-20931")),
        ("re: ticket 4471-22", ("case", "4471-22")),
    ],
)
def test_references(text, expected):
    assert expected in _found(text, EntityKind.REFERENCE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my new email is Ana.Ruiz@Example.com", "ana.ruiz@example.com"),
        ("emial me at jo@mail.example.org pls", "jo@mail.example.org"),
        ("it's ana dot ruiz at example dot com", "ana.ruiz@example.com"),
    ],
)
def test_email_addresses(text, expected):
    assert _found(text, EntityKind.EMAIL) == {("email", expected)}


@pytest.mark.parametrize(
    "text",
    [
        "call me at (415) 555-0199",
        "my cell is 415.555.0199 thx",
        "new number 4155550199",
        "you can reach me on four one five five five five zero one nine nine",
        "+1 415 555 0199 is my number",
    ],
)
def test_phone_numbers_normalised_to_e164(text):
    assert _found(text, EntityKind.PHONE) == {("phone", "+14155550199")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can u call me tmrw", ("date", "2026-11-25")),
        ("move it to next friday at 10:30am", ("datetime", "2026-11-27T10:30:00+00:00")),
        ("it was due Nov 28th", ("date", "2026-11-28")),
        ("delivery on 12/3 please", ("date", "2026-12-03")),
        ("i called yesterday", ("date", "2026-11-23")),
        ("see you in two weeks", ("date", "2026-12-08")),
    ],
)
def test_dates_and_times_resolved_against_the_message_time(text, expected):
    assert expected in _found(text, EntityKind.DATETIME)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I was charged $49.99 twice", "49.99 USD"),
        ("refund of 120 euros please", "120.00 EUR"),
        ("it was forty nine dollars and ninety nine cents", "49.99 USD"),
        ("a fee of £1,250.00??", "1250.00 GBP"),
    ],
)
def test_amounts_with_currency(text, expected):
    assert _found(text, EntityKind.AMOUNT) == {("amount", expected)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ship it to 1200 N Main St Apt 4, Springfield, IL 62704",
            "1200 N Main St Apt 4, Springfield, IL 62704",
        ),
        ("new address: 42 oak stret", "42 Oak Stret"),
        ("i moved to twelve harbor boulevard", "12 Harbor Boulevard"),
    ],
)
def test_street_addresses(text, expected):
    assert _found(text, EntityKind.ADDRESS) == {("address", expected)}


def test_stated_contact_preferences():
    found = _found("pls txt me dont call, im at work. after 5pm is fine", EntityKind.PREFERENCE)

    assert found == {
        ("contact_channel", "sms"),
        ("avoid_channel", "voice"),
        ("contact_time", "after 17:00"),
    }


def test_spans_point_at_what_the_customer_actually_said():
    text = "order eight eight one two three, call me after 5pm"
    reference = next(e for e in extract_entities(text, at=AT) if e.kind == EntityKind.REFERENCE)

    assert text[reference.start : reference.end] == "eight eight one two three"
    assert reference.text == "eight eight one two three"


def test_an_account_number_is_not_read_as_a_phone_number():
    found = extract_entities("account 4155550199 is locked", at=AT)

    assert [(e.kind, e.value) for e in found] == [(EntityKind.REFERENCE, "4155550199")]
