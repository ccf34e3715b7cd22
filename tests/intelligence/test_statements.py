"""Reading a turn for the memory: gist, filler, issue, names, typed statements, spoken keys."""

from __future__ import annotations

import pytest

from orchestrator.intelligence.names import stated_name
from orchestrator.intelligence.statements import (
    canonical_key,
    gist,
    is_filler,
    issue,
    new_reference,
    remember,
    typed_statements,
)

CHATTY_EMAIL = """Hello team,

Our dog has decided the new sofa is his, so the living room is a war zone this week.

The meter reading on my last bill is twice what it should be. Account number 5512093377.

Kind regards,
Marta Kowalski
Office Manager | Bluefin Design
Cell: 503.555.0187

This e-mail is confidential and intended only for the addressee."""


def statements_of(text: str) -> dict[str, str]:
    return {s.key: s.value for s in typed_statements(text)}


def test_gist_drops_greeting_small_talk_signature_and_footer():
    kept = gist(CHATTY_EMAIL)
    assert kept == (
        "The meter reading on my last bill is twice what it should be. Account number 5512093377."
    )


def test_issue_is_the_sentence_saying_what_is_wrong():
    assert issue(CHATTY_EMAIL) == "The meter reading on my last bill is twice what it should be."
    assert issue("Thanks so much, all good now!") == ""


@pytest.mark.parametrize(
    ("text", "filler"),
    [
        ("ok", True),
        ("phone about to die, talk later", True),
        ("I'm out of the office until Monday 3 August and will reply when I return.", True),
        ("sorry the line is bad can you hear me i'll call you back", True),
        ("any update on my refund?", False),
        ("Still waiting. This is the third time I've asked.", False),
    ],
)
def test_filler_is_a_turn_that_says_nothing(text, filler):
    assert is_filler(text) is filler


@pytest.mark.parametrize(
    ("text", "spoken", "name"),
    [
        ("hey it's about my order, this is Priya Natarajan btw", False, "Priya Natarajan"),
        ("Thanks,\nJonas Eberhardt\nTeam lead", False, "Jonas Eberhardt"),
        ("um hi uh jonas eberhardt here calling from my work phone", True, "Jonas Eberhardt"),
        ("this is terrible service", True, ""),
        ("this is really not good enough", False, ""),
    ],
)
def test_stated_name(text, spoken, name):
    assert stated_name(text, spoken=spoken) == name


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Can you book the engineer for July 14 at 9:30am?", "appointment", "July 14 at 9:30am"),
        ("pause my account until March 3 please", "until", "March 3"),
        ("forgot to mention it's Unit 7B", "unit", "Unit 7B"),
        ("We moved up to Pro Annual last week.", "plan", "Pro Annual"),
        ("my plan is basic plus", "plan", "Basic Plus"),
        ("we now need 12 licences not 9", "number of licences", "12 licences"),
        ("the insurance member ID on my card is QX44019283", "member id", "QX44019283"),
        (
            "Please authorize Harbour Panel Works for the repair.",
            "chosen vendor",
            "Harbour Panel Works",
        ),
        ("best to call me between 2pm and 4pm", "contact time", "between 2pm and 4pm"),
    ],
)
def test_typed_statements_keep_the_customers_words(text, key, value):
    assert statements_of(text)[key] == value


def test_a_date_without_time_or_until_is_not_an_appointment():
    assert "appointment" not in statements_of("I first called you on June 3 about this.")


def test_new_reference_and_spoken_keys_meet_written_ones():
    assert new_reference("They rebooked me and the new booking reference is QK7T2P.") == "QK7T2P"
    assert canonical_key("q k seven t two p") == canonical_key("QK7T2P") == "QK7T2P"
    turn = remember("hi uh its about order like b x four four zero nine one", channel="voice")
    assert "BX44091" in turn.spoken_keys
    assert remember("order BX-44091 please", channel="sms").spoken_keys == ()
