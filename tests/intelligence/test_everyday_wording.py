"""Values and issues said the way customers say them, beyond the first patterns: a time to be
called with "noon" or "free to talk", a plan named anywhere in a sentence about changing it,
booking codes with no digit, the issue among asides, phone trouble and chasing."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestrator.intelligence.api import extract_entities
from orchestrator.intelligence.statements import _statements_in, is_boilerplate, issue


def statements(text: str) -> dict[str, str]:
    return {s.key: s.value for s in _statements_in(text)}


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("I'm free to talk between noon and 2pm.", "between noon and 2pm"),
        ("Easiest to reach me between noon and 2pm", "between noon and 2pm"),
        ("i'm usually free after 7pm", "after 7pm"),
        ("we're around after lunch most days", "after lunch"),
    ],
)
def test_a_time_to_be_called_is_read_without_a_verb_of_calling(text: str, when: str) -> None:
    assert statements(text).get("contact time") == when


@pytest.mark.parametrize("text", ["the delivery is free after 6pm", "The parcel came after 5pm"])
def test_a_time_that_is_not_about_being_reached_is_not_a_contact_time(text: str) -> None:
    assert "contact time" not in statements(text)


def test_a_plan_named_anywhere_in_a_sentence_about_changing_plans() -> None:
    assert statements("switched plans, it's Talk 500 now").get("plan") == "Talk 500"
    assert "plan" not in statements("Switched Plans Yesterday")


def entity_values(text: str) -> list[str]:
    return [e.value for e in extract_entities(text, at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))]


def test_a_booking_code_of_letters_only_is_a_reference_after_a_reference_word() -> None:
    assert entity_values("booking reference MHGJHE. Still nothing??") == ["MHGJHE"]
    assert entity_values("my booking refrence is qzkfta") == ["QZKFTA"]
    assert entity_values("booking reference please") == []
    assert entity_values("account CLOSED") == []
    assert entity_values("Job numbr PH-71774, the quote doubled") == ["PH-71774"]


def test_the_issue_is_not_an_aside_nor_the_callers_own_phone_nor_a_chaser() -> None:
    assert (
        issue(
            "Unrelated, but the hold music has been stuck in my head all week. "
            "Patient ID WFP-630453: the results were never sent.",
            reference="WFP-630453",
        )
        == "Patient ID WFP-630453: the results were never sent."
    )
    assert issue("hi it's kofi on my mum's phone, mine broke, about rental agreement RW-3275") == ""
    assert (
        issue(
            "i'm fed up: there has been no signal indoors since the mast work. My account number"
            " is 525744980 and I want this sorted today.",
            reference="525744980",
        )
        == "i'm fed up: there has been no signal indoors since the mast work."
    )


@pytest.mark.parametrize(
    "line", ["Dear Willowmere Family Practice,", "Hi Kestrel Mobile team,", "Sent from Yahoo Mail"]
)
def test_a_greeting_naming_the_business_and_a_mail_app_footer_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


def test_a_member_id_given_in_the_sentence_after_the_one_that_names_it() -> None:
    from orchestrator.intelligence.statements import remember

    asked = remember(
        "You asked for my insurance member ID. It's T856505480. Thanks!", channel="email"
    )
    instead = remember(
        "use V282944824 instead, the old insurance member ID doesn't work", channel="sms"
    )
    assert ("member id", "T856505480") in [(s.key, s.value) for s in asked.statements]
    assert [(s.key, s.value) for s in instead.statements] == [("member id", "V282944824")]


def test_an_automatic_reply_states_no_values() -> None:
    from orchestrator.intelligence.statements import remember

    away = remember(
        "This is an automated reply. I'm away and will be back on Wednesday 15 July.",
        channel="email",
    )
    assert away.statements == ()


def test_a_time_said_before_the_call_it_suits_is_a_contact_time() -> None:
    assert statements("over lunch suits me best for a call").get("contact time") == "over lunch"
