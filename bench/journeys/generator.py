"""Plan journeys (identity case, facts, beat order), write them, derive their probes, and
assemble reproducible files of overlapping journeys."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.journeys.beats import (
    Beat,
    beat_alt_call,
    beat_distractor,
    beat_fact,
    beat_key_on_new_channel,
    beat_new_phone_text,
    beat_opening,
    beat_phone_in_text,
    beat_stated_email,
    beat_tone,
    fact_values,
)
from bench.journeys.pools import Domain, FactSpec, Pools, load_pools
from bench.journeys.render import capitalise_first, compose, fold, sentence_case
from bench.journeys.state import (
    Customer,
    Event,
    Fact,
    JourneyState,
    connected,
    identity_of,
    say,
)

TAGS = (
    "update",
    "buried_fact",
    "distractor",
    "quoted_old_value",
    "key_spelled_out_on_call",
    "alt_phone_call",
    "linked_by_stated_email",
    "linked_by_key",
    "linked_by_key_on_first_use",
    "linked_by_phone_in_text",
    "typo",
    "long",
)
IDENTITY_CASES = ("a", "b", "c", "d", "mixed")
# Asked for separately (`strangers=`, `new_phones=`) and appended after the journeys above, so
# a file's other journeys stay as they were: `stranger` is someone else quoting a customer's
# reference from their own phone or address; `new_phone` is a known customer texting from a
# new number with their name and reference.
EXTRA_CASES = ("stranger", "new_phone")
EXTRA_TAGS = ("stranger_quotes_reference", "new_phone_text")
FILE_START = dt.datetime(2026, 7, 6, 8, 0, tzinfo=dt.UTC)
# Journey ids and random streams per family: the held-out file for a seed shares no customers
# with the dev file for the same seed, and the dev streams are the ones the fixtures were made with.
ID_PREFIX = {"dev": "g", "heldout": "h", "heldout2": "k", "heldout3": "m"}
SEED_SALT = {
    "dev": "",
    "heldout": "heldout:",
    "heldout2": "blind-k2:",
    "heldout3": "blind-m3:",
}


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Plan:
    case: str
    profile: dict[str, str] | None
    opening_channel: str
    links: tuple[str, ...]
    alt_calls: int
    alt_channel: str = "voice"


def _plan_identity(rng: random.Random, case: str, customer: Customer) -> Plan:
    full = {"name": customer.name, "phone": customer.phone, "email": customer.email}
    match case:
        case "a":
            return Plan(case, full, rng.choice(("sms", "email")), (), 0)
        case "b":
            link = rng.choice(("stated_email", "key", "key_fact"))
            opening = "sms" if link == "stated_email" else rng.choice(("sms", "email"))
            return Plan(case, None, opening, (link,), 0)
        case "c":
            if rng.random() < 0.5:
                return Plan(case, full, rng.choice(("sms", "email")), (), rng.randint(1, 3))
            return Plan(case, None, rng.choice(("sms", "email")), ("key_fact",), rng.randint(1, 3))
        case "d":
            return Plan(case, None, "email", ("phone_in_text",), 0)
        case "new_phone":
            return Plan(case, full, rng.choice(("sms", "email")), (), 1, alt_channel="sms")
    base = rng.choice(("stated_email", "phone_in_text", "key_fact"))
    profile = None
    if base == "stated_email" and rng.random() < 0.5:
        profile = {"name": customer.name, "email": customer.email}
    opening = {"stated_email": "sms", "phone_in_text": "email"}.get(
        base, rng.choice(("sms", "email"))
    )
    return Plan("mixed", profile, opening, (base,), rng.randint(1, 2))


def _choose_facts(
    rng: random.Random, domain: Domain, long: bool, start: dt.datetime, pools: Pools
) -> list[Fact]:
    specs = rng.sample(domain.facts, k=min(len(domain.facts), rng.randint(2, 4 if long else 3)))
    used: list[str] = []
    facts: list[Fact] = []
    for spec in specs:
        if spec.kind == "reference":
            continue
        fact = Fact(spec, [fact_values(spec, rng, used, start, pools)])
        used += fact.values[0]
        updatable = spec.kind != "unit" and (
            spec.kind not in {"plan", "vendor"} or len(spec.values) > 1
        )
        if updatable and rng.random() < 0.5:
            fact.values.append(fact_values(spec, rng, used, start, pools))
            used += fact.values[1]
        facts.append(fact)
    return facts


@dataclass(frozen=True)
class PlannedBeat:
    """A beat with the fact version it states, so an update can be placed after its original."""

    run: Beat
    fact_index: int | None = None
    version: int = 0


def _build_beats(
    state: JourneyState, plan: Plan, facts: list[Fact], long: bool, reference: Fact | None
) -> list[Beat]:
    rng = state.rng
    linking: list[Beat] = []
    carried: Fact | None = None
    for link in plan.links:
        if link == "stated_email":
            linking.append(beat_stated_email)
        elif link == "phone_in_text":
            linking.append(beat_phone_in_text)
        else:
            carried = facts[0] if link == "key_fact" else None
            linking.append(beat_key_on_new_channel(carried))
    middle = [
        PlannedBeat(beat_fact(fact, 0), index, 0)
        for index, fact in enumerate(facts)
        if fact is not carried
    ]
    middle += [
        PlannedBeat(beat_distractor) for _ in range(rng.randint(*((3, 6) if long else (0, 2))))
    ]
    for _ in range(rng.randint(*((2, 4) if long else (0, 2)))):
        middle.append(PlannedBeat(beat_tone(rng.choice(("neutral", "neutral", "negative")))))
    rng.shuffle(middle)
    head = rng.randint(0, min(2, len(middle)))
    for index, fact in enumerate(facts):
        for version in range(1, len(fact.values)):
            earliest = _after_version(middle, index, version - 1)
            if fact is carried and version == 1:
                earliest = head
            position = rng.randint(earliest, len(middle))
            middle.insert(position, PlannedBeat(beat_fact(fact, version), index, version))
    if reference is not None:
        position = rng.randint(max(head, len(middle) // 2), len(middle))
        middle.insert(position, PlannedBeat(beat_fact(reference, 1)))
    opening = beat_opening(plan.opening_channel, negative=rng.random() < 0.45)
    beats = [opening, *(b.run for b in middle[:head]), *linking, *(b.run for b in middle[head:])]
    beats.append(beat_tone(rng.choice(("positive", "positive", "negative", "neutral"))))
    if plan.alt_calls:
        at = rng.randint(1 + head + len(linking), len(beats))
        calls = [beat_new_phone_text if plan.alt_channel == "sms" else beat_alt_call(first=True)]
        calls += [beat_alt_call(first=False) for _ in range(plan.alt_calls - 1)]
        for offset, call in enumerate(calls):
            beats.insert(min(len(beats), at + offset * 2), call)
    return beats


def _after_version(middle: list[PlannedBeat], fact_index: int, version: int) -> int:
    """The position just after the beat stating `version` of a fact (0 when it is elsewhere)."""
    for position, beat in enumerate(middle):
        if beat.fact_index == fact_index and beat.version == version:
            return position + 1
    return 0


# --------------------------------------------------------------------------- probes


def _sentiment_at(events: list[Event], index: int) -> tuple[str, bool]:
    """The current mood at event `index` and whether that event itself carries a tone."""
    for event in reversed(events[: index + 1]):
        if event.tone is not None:
            return event.tone, events[index].tone is not None
    return "neutral", False


def _probes(state: JourneyState, facts: list[Fact], reference: Fact | None) -> list[dict[str, Any]]:
    rng, events = state.rng, state.events
    last = len(events) - 1
    wanted = rng.randint(1, 4 if len(events) >= 10 else 2)
    chosen = sorted({last, *rng.sample(range(1, len(events)), k=min(wanted, len(events) - 1))})
    probes = [_probe_at(state, index, facts, reference) for index in chosen[-wanted:]]
    return [probe for probe in probes if probe["needs"]]


def _probe_at(
    state: JourneyState, index: int, facts: list[Fact], reference: Fact | None
) -> dict[str, Any]:
    """What an agent answering event `index` must see: the values stated so far on identities
    a memory could already connect to this event's sender."""
    rng, events = state.rng, state.events
    reachable = connected(state, events[index].identity, index)
    visible = [e for e in events[: index + 1] if e.identity in reachable]
    text = fold(" ".join(_event_text(e.payload) for e in visible))
    stated = {value for e in visible for value in e.stated}
    replaced = list(dict.fromkeys(value for e in visible for value in e.replaced))
    current: list[str] = []
    for fact in facts:
        versions = [v for v in fact.values if all(x in stated for x in v)]
        if versions:
            current += [x for x in versions[-1] if x not in replaced]
    keys = [reference.values[-1][0], reference.values[0][0]] if reference else [state.key]
    key = next((k for k in keys if k in stated and k not in replaced), None)
    optional = [state.issue.needle, *current, state.customer.name]
    optional = [v for v in dict.fromkeys(optional) if v in stated and v != key]
    rng.shuffle(optional)
    needs = [n for n in ([key] if key else []) + optional[: rng.randint(1, 3)] if fold(n) in text]
    stale = [s for s in replaced if not any(s in n or n in s for n in [*current, *needs])]
    probe: dict[str, Any] = {"after": index, "needs": needs, "stale": stale}
    mood, toned = _sentiment_at(events, index)
    if rng.random() < (0.75 if toned else 0.25):
        probe["sentiment"] = mood
    return probe


def _event_text(payload: dict[str, str]) -> str:
    return " ".join(payload.get(k, "") for k in ("subject", "body", "speech"))


# --------------------------------------------------------------------------- people


def _make_key(domain: Domain, rng: random.Random, pools: Pools) -> str:
    fmt = domain.key_format
    if fmt.startswith("digits"):
        length = int(fmt.removeprefix("digits"))
        return str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))
    if fmt == "slug":
        words = pools.people.slug_words
        return f"{rng.choice(words)}-{rng.choice(words)}-{rng.randint(10, 99)}"
    if fmt == "code6":
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return "".join(rng.choice(letters + "23456789") for _ in range(6))
    _prefix, prefix, width = fmt.split(":")
    return f"{prefix}-{rng.randint(10 ** (int(width) - 1), 10 ** int(width) - 1)}"


def _make_customer(rng: random.Random, pools: Pools) -> Customer:
    people = pools.people
    first, last = rng.choice(people.first_names), rng.choice(people.last_names)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}{rng.randint(10, 99)}",
            f"{last}.{first[0]}",
        )
    ).lower()
    phone = _make_phone(rng, pools)
    return Customer(f"{first} {last}", phone, f"{local}@{rng.choice(people.email_hosts)}")


def _make_phone(rng: random.Random, pools: Pools) -> str:
    return f"+1{rng.choice(pools.people.area_codes)}5550{rng.randint(100, 199)}"


# --------------------------------------------------------------------------- journeys


def _journey(
    rng: random.Random,
    journey_id: str,
    domain: Domain,
    case: str,
    start: dt.datetime,
    pools: Pools,
) -> dict[str, Any]:
    customer = _make_customer(rng, pools)
    plan = _plan_identity(rng, case, customer)
    if plan.alt_calls:
        customer.alt_phone = _make_phone(rng, pools)
        while customer.alt_phone == customer.phone:
            customer.alt_phone = _make_phone(rng, pools)
    long = rng.random() < 0.3
    key = _make_key(domain, rng, pools)
    known = {"phone", "email"} & set(plan.profile or ())
    state = JourneyState(
        pools=pools,
        domain=domain,
        customer=customer,
        key=key,
        issue=rng.choice(domain.issues),
        start=start,
        rng=rng,
        linked=known,
        name_on_file=plan.profile is not None,
    )
    if len(known) == 2:
        state.links.append(("phone", "email", -1))
    facts = _choose_facts(rng, domain, long, start, pools)
    reference = None
    if any(spec.kind == "reference" for spec in domain.facts) and rng.random() < 0.5:
        new_key = _make_key(domain, rng, pools)
        reference = Fact(FactSpec("reference", domain.key_label), [(key,), (new_key,)])
    beats = _build_beats(state, plan, facts, long, reference)
    for beat in beats:
        beat(state)
    if len(state.events) >= 12:
        state.tags.add("long")
    private = _private_values(customer, key, facts, reference)
    journey: dict[str, Any] = {
        "id": journey_id,
        "domain": domain.name,
        "identity_case": plan.case,
        "tags": sorted(state.tags),
        "private": private,
    }
    if plan.profile:
        journey["profiles"] = [plan.profile]
    journey["events"] = [event.payload for event in state.events]
    journey["probes"] = _probes(state, facts, reference)
    if plan.alt_channel == "sms":
        journey["probes"] = _with_probe_at_new_phone(state, journey["probes"], facts, reference)
    return journey


def _with_probe_at_new_phone(
    state: JourneyState, probes: list[dict[str, Any]], facts: list[Fact], reference: Fact | None
) -> list[dict[str, Any]]:
    """A probe at the first text from the new number: what an agent answering it must know
    from the customer's other channels is what recognising them there is worth."""
    at = next(i for i, event in enumerate(state.events) if event.identity == "alt")
    if any(probe["after"] == at for probe in probes):
        return probes
    probe = _probe_at(state, at, facts, reference)
    if not probe["needs"]:
        return probes
    kept = probes if len(probes) < 4 else probes[1:]
    return sorted([*kept, probe], key=lambda p: p["after"])


def _private_values(
    customer: Customer, key: str, facts: list[Fact], reference: Fact | None
) -> list[str]:
    values = [key, *(reference.values[1] if reference else ())]
    for fact in facts:
        if fact.spec.kind in {"address", "member_id"}:
            values += [v[0] for v in fact.values]
    values += [customer.email, customer.name, customer.phone]
    if customer.alt_phone:
        values.append(customer.alt_phone)
    return list(dict.fromkeys(values))


def _collides(
    journey: dict[str, Any], accepted: list[dict[str, Any]], shared: frozenset[str] = frozenset()
) -> bool:
    """Whether this journey's private strings show up in another journey, or theirs in it
    (`shared`: a value it knows on purpose, the reference a stranger quotes)."""
    mine = fold(" ".join(_event_blob(journey)))
    for other in accepted:
        theirs = fold(" ".join(_event_blob(other)))
        if any(fold(p) in theirs for p in journey["private"] if p not in shared):
            return True
        if any(fold(p) in mine for p in other["private"] if p not in shared):
            return True
    return False


def _event_blob(journey: dict[str, Any]) -> list[str]:
    return [str(v) for event in journey["events"] for v in event.values()]


def _usable(journey: dict[str, Any]) -> bool:
    return bool(journey["probes"]) and len(journey["events"]) <= 20


def generate_journeys(
    *, count: int, seed: int, family: str = "dev", strangers: int = 0, new_phones: int = 0
) -> list[dict[str, Any]]:
    """`count` journeys worded from one phrase family, overlapping in time over a few weeks; the
    same seed and family give the same journeys. Domains and identity cases rotate so small
    files are varied too. Then `new_phones` customers who text from a new number, and
    `strangers` who quote a reference of one of the journeys before them; the first `count`
    journeys are the same with or without these."""
    pools = load_pools(family)
    salt, prefix = SEED_SALT[family], ID_PREFIX[family]
    # Reproducible test data, not security: the seeded generator is the point (S311).
    file_rng = random.Random(f"{salt}{seed}" if salt else seed)  # noqa: S311
    domains = list(pools.domains)
    file_rng.shuffle(domains)
    cases = list(IDENTITY_CASES)
    file_rng.shuffle(cases)
    file_start = FILE_START + dt.timedelta(days=file_rng.randint(0, 6))
    journeys: list[dict[str, Any]] = []
    for index in range(count):
        domain = domains[index % len(domains)]
        case = cases[index % len(cases)]
        start = file_start + dt.timedelta(minutes=file_rng.randint(0, 14 * 24 * 60))
        for attempt in range(100):
            rng = random.Random(f"{salt}{seed}:{index}:{attempt}")  # noqa: S311 - as above
            journey = _journey(rng, f"{prefix}{seed}-{index:03d}", domain, case, start, pools)
            if _usable(journey) and not _collides(journey, journeys):
                break
        else:
            raise RuntimeError(f"could not generate journey {index} for seed {seed} ({family})")
        journeys.append(journey)
    for index in range(new_phones):
        domain = domains[(count + index) % len(domains)]
        start = file_start + dt.timedelta(minutes=file_rng.randint(0, 14 * 24 * 60))
        for attempt in range(100):
            rng = random.Random(f"{salt}{seed}:new_phone:{index}:{attempt}")  # noqa: S311
            journey_id = f"{prefix}{seed}-n{index:02d}"
            journey = _journey(rng, journey_id, domain, "new_phone", start, pools)
            if _usable(journey) and not _collides(journey, journeys):
                break
        else:
            raise RuntimeError(f"could not generate new-phone journey {index} for seed {seed}")
        journeys.append(journey)
    victims = list(journeys)
    for index in range(strangers):
        for attempt in range(100):
            rng = random.Random(f"{salt}{seed}:stranger:{index}:{attempt}")  # noqa: S311
            # One stranger per victim, so each quoted reference has one owner to leak from.
            victim = rng.choice(victims)
            journey = _stranger_journey(rng, f"{prefix}{seed}-s{index:02d}", victim, pools)
            quoted = frozenset(journey["private"][:1])
            if _usable(journey) and not _collides(journey, journeys, shared=quoted):
                victims.remove(victim)
                break
        else:
            raise RuntimeError(f"could not generate stranger journey {index} for seed {seed}")
        journeys.append(journey)
    return journeys


def _stranger_journey(
    rng: random.Random, journey_id: str, victim: dict[str, Any], pools: Pools
) -> dict[str, Any]:
    """Someone who is not the victim's customer quotes the victim's reference from their own
    phone or e-mail address, maybe under their own name, and asks what is on file. Their
    context may hold what they said; everything else of the victim's counts as a leak."""
    domain = next(d for d in pools.domains if d.name == victim["domain"])
    key = str(victim["private"][0])
    stranger = _make_customer(rng, pools)
    first_contact = dt.datetime.fromisoformat(victim["events"][0]["t"].replace("Z", "+00:00"))
    start = first_contact + dt.timedelta(hours=rng.randint(2, 72))
    channel = rng.choice(("sms", "email"))
    state = JourneyState(
        pools=pools,
        domain=domain,
        customer=stranger,
        key=key,
        issue=rng.choice(domain.issues),
        start=start,
        rng=rng,
        linked={identity_of(channel)},
    )
    state.tags.add("stranger_quotes_reference")
    phrases = state.phrases
    named = rng.random() < 0.5
    template = rng.choice(phrases.stranger_named_asks if named else phrases.stranger_asks)
    segments = compose(
        template.replace("{key_label}", domain.key_label), key=key, name=stranger.name
    )
    subject = f"{sentence_case(domain.key_label)} {key}"
    say(
        state,
        channel,
        identity_of(channel),
        capitalise_first(segments),
        "neutral",
        stated=[key],
        subject=subject,
    )
    if rng.random() < 0.6:
        follow_up = compose(rng.choice(phrases.stranger_follow_ups))
        say(
            state,
            channel,
            identity_of(channel),
            capitalise_first(follow_up),
            "neutral",
            subject=f"Re: {subject}",
        )
    texts = [fold(_event_text(event.payload)) for event in state.events]
    said_name = any(fold(stranger.name) in text for text in texts)
    contact = stranger.email if channel == "email" else stranger.phone
    private = [key, contact, *([stranger.name] if said_name else [])]
    needs_name = said_name and fold(stranger.name) in texts[0]
    probes = [
        {"after": index, "needs": [key, *([stranger.name] if needs_name else [])], "stale": []}
        for index in range(len(state.events))
    ]
    return {
        "id": journey_id,
        "domain": domain.name,
        "identity_case": "stranger",
        "tags": sorted(state.tags),
        "private": private,
        "events": [event.payload for event in state.events],
        "probes": probes,
    }


def write_journeys(path: Path | str, journeys: Iterable[dict[str, Any]]) -> None:
    """Write journeys as JSON Lines, one journey a line."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        for journey in journeys:
            handle.write(json.dumps(journey, ensure_ascii=False) + "\n")
