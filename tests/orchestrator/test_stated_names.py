"""The name a customer gives is read however they put it (capitals or not, introduced, signed,
"<name> here"), and ordinary sentences that start the same way are not taken for names."""

from __future__ import annotations

import pytest

from orchestrator.intelligence.names import stated_name


@pytest.mark.parametrize(
    ("text", "spoken", "name"),
    [
        ("Hi I'm Olivia Stone", False, "Olivia Stone"),
        ("this is Ada Byrne", False, "Ada Byrne"),
        ("this is ada byrne", True, "Ada Byrne"),
        ("hi this is John Smith ... account seven seven one two three", True, "John Smith"),
        ("hi this is john smith account seven seven one two three", True, "John Smith"),
        ("This is Ada Byrne, order 5512", False, "Ada Byrne"),
        ("my name is maria lopez", False, "Maria Lopez"),
        ("Hello, my name's ada byrne. Where is my parcel?", False, "Ada Byrne"),
        ("hi im olivia stone, order 12345", False, "Olivia Stone"),
        ("I am Maria Lopez and I need help", False, "Maria Lopez"),
        ("it's Tom Hardy here", False, "Tom Hardy"),
        ("it's tom hardy here about my bill", True, "Tom Hardy"),
        ("hello Sefa Grunewald here, lost my old phone", False, "Sefa Grunewald"),
        ("um hi uh jonas eberhardt here calling from my work phone", True, "Jonas Eberhardt"),
        ("Where is it?\n\nThanks, Olivia Stone", False, "Olivia Stone"),
        ("cheers olivia stone", False, "Olivia Stone"),
        ("Thanks,\nJonas Eberhardt\nTeam lead", False, "Jonas Eberhardt"),
    ],
)
def test_a_name_is_read_in_any_phrasing(text: str, spoken: bool, name: str) -> None:
    assert stated_name(text, spoken=spoken) == name


@pytest.mark.parametrize(
    "text",
    [
        "i'm moving house next week",
        "it's been three days",
        "it's still broken",
        "this is terrible service",
        "this is really not good enough",
        "this is the third time",
        "I'm Still Waiting",
        "i am not happy",
        "im locked out",
        "the parcel arrived here broken",
        "Hi I'm Olivia",
    ],
)
def test_ordinary_sentences_are_not_names(text: str) -> None:
    assert stated_name(text) == ""
    assert stated_name(text, spoken=True) == ""


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("yes hi my name's kofi jablonski this is my husband's phone", "Kofi Jablonski"),
        ("hi it's marisol ivanova i'm on my landlord's phone", "Marisol Ivanova"),
        ("hello this is ines ivanova on my wife's phone", "Ines Ivanova"),
        ("hi i'm uma wexler", "Uma Wexler"),
    ],
)
def test_a_name_said_in_lower_case_is_told_by_how_uncommon_its_words_are(
    text: str, name: str
) -> None:
    assert stated_name(text, spoken=True) == name


@pytest.mark.parametrize(
    "text",
    [
        "it's super slow today",
        "i'm gutted tbh",
        "i'm knackered tonight",
        "it's wifi related i think",
        "it's hella slow",
        "my name is on the account",
        "Cracked Screen - help",
        "Quick Question - is the store open",
    ],
)
def test_everyday_words_after_an_introduction_are_not_a_name(text: str) -> None:
    assert stated_name(text) == ""
    assert stated_name(text, spoken=True) == ""


def test_a_message_headed_by_the_senders_name_gives_it() -> None:
    assert stated_name("Bram Pettersen - email me at bp@example.net if easier") == "Bram Pettersen"
    assert stated_name("Ana Ruiz: order 5512 still not here") == "Ana Ruiz"


def test_a_text_signed_off_after_a_dash_gives_the_name() -> None:
    assert stated_name("order 2285191 again, still waiting - Ines Haddad") == "Ines Haddad"
    assert stated_name("the box arrived crushed - Front Door") == ""
    assert stated_name("that's all - thanks") == ""
