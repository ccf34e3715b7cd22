"""Values found in any wording, typed by what they are, and the newest value for the same
thing filed over the old one: the shipped tagger and change model, and the filing rule."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from orchestrator.intelligence.statements import typed_statements
from orchestrator.intelligence.values.changes import change_model
from orchestrator.intelligence.values.filing import KnownValue, is_value_key, values_file
from orchestrator.intelligence.values.tagger import value_tagger

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def values_of(text: str) -> dict[str, str]:
    return {s.key: s.value for s in typed_statements(text) if is_value_key(s.key)}


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Oh and could we push the viewing to the 17th of April?", "date", "17th of April"),
        ("we'd be arriving around quarter past 7 in the evening", "time", "quarter past 7"),
        ("I'm flying out of Sacramento next week", "place", "Sacramento"),
        ("send 45 dollars to my brother please", "amount", "45 dollars"),
    ],
)
def test_values_are_found_in_everyday_wording(text, key, value):
    found = values_of(text)
    assert key in found, found
    assert value.casefold() in found[key].casefold()


def test_tagging_costs_little_per_message():
    tagger = value_tagger()
    assert tagger is not None
    text = "Hi, could you move my table at the Olive Tree in Palo Alto to 8pm on Friday the 9th?"
    tagger.values(text)
    started = time.perf_counter()
    for _ in range(50):
        tagger.values(text)
    assert (time.perf_counter() - started) / 50 < 0.01  # under 10 ms a message


def test_a_correction_replaces_the_value_and_another_thing_sits_beside_it():
    model = change_model()
    assert model is not None
    booked = "Book me a table for the 19th please"
    correction = model.replaces(
        "sorry, scratch that, can we do the 21st instead",
        "date",
        "the 19th",
        "the 21st",
        old_said=booked,
        gap=1,
    )
    addition = model.replaces(
        "Great. Can you also find me a movie to watch on the 25th?",
        "date",
        "the 19th",
        "the 25th",
        old_said=booked,
        gap=1,
    )
    assert correction > 0.5 > addition


def test_a_new_value_replaces_the_current_value_it_is_about_not_the_newest():
    """Check-in and check-out are both current dates: a new check-out date replaces the
    check-out, whatever was said last."""
    known = [
        KnownValue(
            key="date", value="June 2nd", valid_from=T0, said="checking in on June 2nd", turns_ago=2
        ),
        KnownValue(
            key="date #2",
            value="June 6th",
            valid_from=T0 + dt.timedelta(minutes=1),
            said="and checking out on June 6th",
            turns_ago=1,
        ),
    ]
    writes = values_file(
        text="sorry, I need to check in on June 3rd instead",
        stated=[("date", "June 3rd")],
        known=known,
    )
    assert writes == [("date", "June 3rd")]


def test_newest_value_is_filed_under_the_key_of_the_one_it_replaces():
    known = [
        KnownValue(key="date", value="the 9th of May", valid_from=T0, said="the 9th of May works")
    ]
    writes = values_file(
        text="hmm no, make that May 2nd please",
        stated=[("date", "May 2nd")],
        known=known,
    )
    assert writes == [("date", "May 2nd")]


def test_a_value_said_again_is_not_filed_again():
    known = [KnownValue(key="place", value="Santa Rosa", valid_from=T0)]
    assert values_file(text="yes santa rosa", stated=[("place", "santa rosa")], known=known) == []


def test_correction_within_one_message_files_the_old_value_first_as_history():
    writes = values_file(
        text="Book it for Tuesday, no wait, Thursday",
        stated=[("date", "Tuesday"), ("date", "Thursday")],
        known=[],
    )
    assert writes == [("date", "Tuesday"), ("date", "Thursday")]


def test_two_values_of_a_kind_without_a_correction_are_two_things():
    """Kept apart, so that a later change of one ("until the 16th") replaces only it."""
    writes = values_file(
        text="I need it from March 10th until the 14th",
        stated=[("date", "March 10th"), ("date", "the 14th")],
        known=[],
    )
    assert writes == [("date", "March 10th"), ("date #2", "the 14th")]


def test_a_plan_chosen_anew_replaces_the_plan_whatever_the_tagger_calls_it():
    known = [KnownValue(key="plan", value="Basic Saver", valid_from=T0)]
    writes = values_file(
        text="we moved across to Family Max this week",
        stated=[("named", "Family Max")],
        known=known,
    )
    assert writes == [("plan", "Family Max")]


def test_a_name_in_a_sentence_announcing_no_change_leaves_the_plan_alone():
    known = [KnownValue(key="plan", value="Basic Saver", valid_from=T0)]
    writes = values_file(
        text="Dear Acme Broadband team, thanks. The new router works now.",
        stated=[("named", "Acme Broadband team")],
        known=known,
    )
    assert writes == [("named", "Acme Broadband team")]


def test_an_appointment_moved_by_a_date_alone_is_replaced():
    known = [KnownValue(key="appointment", value="May 4 at 10am", valid_from=T0)]
    writes = values_file(
        text="could we move it to the 7th instead?", stated=[("date", "the 7th")], known=known
    )
    assert writes == [("appointment", "the 7th at 10am")]  # the hour stays as it was


def test_an_appointment_moved_by_an_hour_alone_keeps_its_day():
    known = [KnownValue(key="appointment", value="May 4 at 10am", valid_from=T0)]
    writes = values_file(text="can you make it 3pm instead", stated=[("time", "3pm")], known=known)
    assert writes == [("appointment", "May 4 at 3pm")]


def test_a_day_and_an_hour_asked_for_together_are_one_appointment():
    writes = values_file(
        text="is 3:00pm on August 13 free for the collection?",
        stated=[("date", "August 13"), ("time", "3:00pm")],
        known=[],
    )
    assert writes == [("appointment", "August 13 at 3:00pm")]


def test_a_new_window_to_call_in_replaces_the_contact_time():
    known = [KnownValue(key="contact time", value="between noon and 2pm", valid_from=T0)]
    writes = values_file(
        text="Actually make that before 8am, new shifts",
        stated=[("time", "before 8am")],
        known=known,
    )
    assert writes == [("contact time", "before 8am")]


def test_a_short_answer_is_a_value_not_a_signature():
    assert values_of("Redwood City.") == {"place": "Redwood City"}
    assert "place" in values_of("In San Francisco. And make it for March 9th.")


def test_a_title_abbreviation_does_not_end_the_sentence():
    from orchestrator.intelligence.statements import sentences

    assert sentences("I'm seeing Dr. Patel in St. Louis. Thanks!") == [
        "I'm seeing Dr. Patel in St. Louis.",
        "Thanks!",
    ]
