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
    correction = model.replaces(
        "sorry, scratch that, can we do the 21st instead", "date", "the 19th", "the 21st"
    )
    addition = model.replaces(
        "Great. Can you also find me a movie to watch on the 25th?", "date", "the 19th", "the 25th"
    )
    assert correction > 0.5 > addition


def test_newest_value_is_filed_under_the_key_of_the_one_it_replaces():
    known = [KnownValue(key="date", value="8th of March", valid_from=T0)]
    writes = values_file(
        text="No, change the date to March 4th",
        stated=[("date", "March 4th")],
        known=known,
    )
    assert writes == [("date", "March 4th")]


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


def test_two_values_of_a_kind_without_a_correction_are_kept_together():
    writes = values_file(
        text="I need it from March 10th until the 14th",
        stated=[("date", "March 10th"), ("date", "the 14th")],
        known=[],
    )
    assert writes == [("date", "March 10th, the 14th")]
