"""The journey generator writes valid, varied, reproducible benchmark files in every phrase
family."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.journeys import (
    EXTRA_CASES,
    EXTRA_TAGS,
    FAMILIES,
    IDENTITY_CASES,
    TAGS,
    generate_journeys,
    write_journeys,
)
from bench.journeys.generator import ID_PREFIX

DATA = Path(__file__).parent / "data"
JOURNEY_FIELDS = {
    "id",
    "domain",
    "identity_case",
    "tags",
    "private",
    "profiles",
    "events",
    "probes",
}
EVENT_FIELDS = {"t", "channel", "from", "to", "subject", "body", "speech"}


def fold(text: str) -> str:
    return " ".join(text.lower().split())


def event_text(event: dict[str, str]) -> str:
    return fold(" ".join(str(value) for value in event.values()))


@pytest.fixture(scope="module", params=FAMILIES)
def journeys(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return generate_journeys(count=60, seed=11, family=request.param)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_gives_the_same_journeys(family: str) -> None:
    first = generate_journeys(count=8, seed=3, family=family)
    assert first == generate_journeys(count=8, seed=3, family=family)
    assert first != generate_journeys(count=8, seed=4, family=family)


def test_every_need_was_said_by_the_customer_by_the_probed_event(journeys) -> None:
    for journey in journeys:
        for probe in journey["probes"]:
            said = " ".join(event_text(e) for e in journey["events"][: probe["after"] + 1])
            for need in probe["needs"]:
                assert fold(need) in said, (journey["id"], probe, need)


def test_stale_values_came_earlier_and_are_not_current(journeys) -> None:
    for journey in journeys:
        for probe in journey["probes"]:
            said = " ".join(event_text(e) for e in journey["events"][: probe["after"] + 1])
            for stale in probe["stale"]:
                assert fold(stale) in said, (journey["id"], stale)
                assert all(fold(stale) not in fold(need) for need in probe["needs"])


def test_stale_values_were_replaced_by_a_later_statement(journeys) -> None:
    for journey in journeys:
        texts = [event_text(e) for e in journey["events"]]
        for probe in journey["probes"]:
            for stale in probe["stale"]:
                first = next(i for i, text in enumerate(texts) if fold(stale) in text)
                assert first < probe["after"] or probe["stale"] == [], (journey["id"], stale)


def test_private_values_never_appear_in_another_journey(journeys) -> None:
    texts = {j["id"]: " ".join(event_text(e) for e in j["events"]) for j in journeys}
    privates = {j["id"]: set(j["private"]) for j in journeys}
    for journey in journeys:
        for other_id, text in texts.items():
            if other_id != journey["id"]:
                # A value private to both (the reference a stranger quotes) is known to both.
                leaked = [
                    p for p in journey["private"] if fold(p) in text and p not in privates[other_id]
                ]
                assert not leaked, (journey["id"], other_id, leaked)


def test_private_values_belong_to_their_journey(journeys) -> None:
    for journey in journeys:
        text = " ".join(event_text(e) for e in journey["events"])
        profile_text = fold(json.dumps(journey.get("profiles", [])))
        # A cell number may only ever be written in another format, e.g. "(412) 555-0148".
        bare = re.sub(r"[\s().+-]", "", text)
        for value in journey["private"]:
            said = fold(value) in text or fold(value) in profile_text
            if value.startswith("+1"):
                said = said or value[2:] in bare
            assert said, (journey["id"], value)


def test_near_collisions_share_first_names_or_streets_but_not_private_values(journeys) -> None:
    names = [p for j in journeys for p in j["private"] if " " in p and p[0].isalpha()]
    first_names = [name.split()[0] for name in names]
    assert len(set(first_names)) < len(first_names)
    assert len(set(names)) == len(names)


def test_events_are_in_time_order_and_journeys_overlap(journeys) -> None:
    spans = []
    for journey in journeys:
        times = [e["t"] for e in journey["events"]]
        assert times == sorted(times)
        assert all(t.endswith("Z") for t in times)
        spans.append((times[0], times[-1]))
    overlapping = sum(
        1 for a, b in zip(spans, spans[1:], strict=False) if a[0] <= b[1] and b[0] <= a[1]
    )
    assert overlapping > len(spans) // 4


def validate_line(line: str) -> None:
    journey = json.loads(line)
    assert set(journey) <= JOURNEY_FIELDS
    assert isinstance(journey["id"], str) and journey["events"] and journey["probes"]
    assert journey["identity_case"] in (*IDENTITY_CASES, *EXTRA_CASES)
    assert set(journey["tags"]) <= {*TAGS, *EXTRA_TAGS}
    for profile in journey.get("profiles", []):
        assert "name" in profile and ({"phone", "email"} & set(profile))
    for event in journey["events"]:
        assert set(event) <= EVENT_FIELDS
        assert event["channel"] in {"sms", "voice", "email"}
        if event["channel"] == "email":
            assert "@" in event["from"] and "@" in event["to"] and "body" in event
        else:
            assert event["from"].startswith("+1") and event["to"].startswith("+1")
            assert len(event["from"]) == 12
            assert ("speech" if event["channel"] == "voice" else "body") in event
    for probe in journey["probes"]:
        assert 0 <= probe["after"] < len(journey["events"])
        assert probe["needs"] and isinstance(probe["stale"], list)
        assert probe.get("sentiment", "neutral") in {"positive", "neutral", "negative"}


def test_every_written_line_follows_the_spec(journeys, tmp_path) -> None:
    path = tmp_path / "journeys.jsonl"
    write_journeys(path, journeys)
    lines = path.read_text().splitlines()
    assert len(lines) == len(journeys)
    for line in lines:
        validate_line(line)


@pytest.mark.parametrize(("name", "count", "seed"), [("dev-small", 4, 1), ("dev", 30, 2)])
def test_committed_fixtures_are_valid_and_current(name: str, count: int, seed: int) -> None:
    lines = (DATA / f"{name}.jsonl").read_text().splitlines()
    for line in lines:
        validate_line(line)
    assert [json.loads(line) for line in lines] == generate_journeys(count=count, seed=seed)


def test_a_file_of_sixty_covers_domains_cases_and_tags(journeys) -> None:
    assert len({j["domain"] for j in journeys}) >= 10
    assert {j["identity_case"] for j in journeys} >= {"a", "b", "c", "d"}
    assert {tag for j in journeys for tag in j["tags"]} == set(TAGS)
    sentiments = {p.get("sentiment") for j in journeys for p in j["probes"]}
    assert sentiments >= {"positive", "neutral", "negative"}
    assert any(len(j["events"]) >= 12 for j in journeys)
    assert all(1 <= len(j["probes"]) <= 4 for j in journeys)


def test_phrasings_vary_across_journeys(journeys) -> None:
    openings = {
        fold(j["events"][0].get("body", ""))[:25]
        for j in journeys
        if j["events"][0]["channel"] == "sms"
    }
    assert len(openings) >= 8


def test_spelled_out_keys_are_not_written_canonically_on_that_call(journeys) -> None:
    spelled = [j for j in journeys if "key_spelled_out_on_call" in j["tags"]]
    assert spelled
    for journey in spelled:
        key = journey["private"][0]
        calls = [e["speech"] for e in journey["events"] if e["channel"] == "voice"]
        assert any(" ".join(key.lower().replace("-", "")) not in c and "phone" in c for c in calls)


@pytest.fixture(scope="module", params=FAMILIES)
def with_new_contacts(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return generate_journeys(count=30, seed=11, family=request.param, strangers=6, new_phones=6)


def test_strangers_and_new_phones_leave_the_other_journeys_as_they_were(with_new_contacts):
    family = next(f for f, p in ID_PREFIX.items() if with_new_contacts[0]["id"].startswith(p))
    assert with_new_contacts[:30] == generate_journeys(count=30, seed=11, family=family)
    cases = [j["identity_case"] for j in with_new_contacts[30:]]
    assert cases == ["new_phone"] * 6 + ["stranger"] * 6


def test_a_stranger_quotes_another_journeys_reference_and_nothing_else_of_theirs(
    with_new_contacts, tmp_path
):
    write_journeys(tmp_path / "j.jsonl", with_new_contacts)
    for line in (tmp_path / "j.jsonl").read_text().splitlines():
        validate_line(line)
    strangers = [j for j in with_new_contacts if j["identity_case"] == "stranger"]
    for stranger in strangers:
        quoted = stranger["private"][0]
        owners = [j for j in with_new_contacts if j is not stranger and j["private"][0] == quoted]
        assert len(owners) == 1, stranger["id"]
        owner = owners[0]
        text = " ".join(event_text(e) for e in stranger["events"])
        assert [p for p in owner["private"] if fold(p) in text] == [quoted]
        assert fold(owner["private"][-1]) not in text  # the owner's phone
        assert stranger["events"][0]["t"] > owner["events"][0]["t"]
        assert all(quoted in probe["needs"] for probe in stranger["probes"])
        assert "stranger_quotes_reference" in stranger["tags"]


def test_a_new_phone_journey_texts_name_and_key_from_an_unknown_number_and_is_probed_there(
    with_new_contacts,
):
    for journey in (j for j in with_new_contacts if j["identity_case"] == "new_phone"):
        profile = journey["profiles"][0]
        new_number = journey["private"][-1]
        assert new_number != profile["phone"]
        at = next(i for i, e in enumerate(journey["events"]) if e["from"] == new_number)
        first = journey["events"][at]
        assert first["channel"] == "sms"
        assert fold(profile["name"]) in fold(first["body"])
        assert fold(journey["private"][0]) in fold(first["body"])
        assert at in [probe["after"] for probe in journey["probes"]]
        assert "new_phone_text" in journey["tags"]
