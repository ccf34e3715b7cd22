"""The journey generator's data: businesses, people and a family of phrase pools, read from the
JSON files beside this module so wording can grow without growing the code.

Phrase families share one structure: `dev` may be tuned on; `heldout` never is, and exists
to show whether a change to Rapport generalises beyond the wording it was tuned on. Its failures
have since been looked at, so `heldout2` was written blind (without reading the other families'
sentences or the product code) to keep an honest figure; nobody tunes on it or reads its misses.
`heldout3` was written blind the same way, later, so a fresh honest figure can be reported
once `heldout2` has been looked at too.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FAMILIES = ("dev", "heldout", "heldout2", "heldout3")

Pool = tuple[str, ...]
PoolByKey = dict[str, Pool]


@dataclass(frozen=True)
class Issue:
    """A problem the customer states once; `needle` is the part a probe asks for."""

    needle: str
    sentence: str


@dataclass(frozen=True)
class FactSpec:
    """A fact a domain's customers state and sometimes change."""

    kind: str
    label: str = ""
    thing: str = ""
    values: Pool = ()


@dataclass(frozen=True)
class Domain:
    """A business journeys are written to; its issues come from the phrase family."""

    name: str
    company: str
    phone: str
    email: str
    key_label: str
    key_format: str
    topic: str
    issues: tuple[Issue, ...]
    facts: tuple[FactSpec, ...]


@dataclass(frozen=True)
class People:
    """Names, places and values shared by every family (`people.json`)."""

    first_names: Pool
    last_names: Pool
    streets: Pool
    street_suffixes: Pool
    unit_prefixes: Pool
    area_codes: Pool
    email_hosts: Pool
    slug_words: Pool
    times: Pool
    job_titles: Pool
    employers: Pool


@dataclass(frozen=True)
class Phrases:
    """One family's wording (`phrases/<family>.json`). Keyed pools are keyed by fact kind,
    channel or mood; single strings are templates used on every such message."""

    issues: dict[str, tuple[Issue, ...]]
    openings: PoolByKey
    opening_subjects: Pool
    fact_states: PoolByKey
    fact_updates: PoolByKey
    spoken_address: Pool
    spoken_update_address: Pool
    email_fact_lead: str
    rebooked_subject: str
    follow_ups: PoolByKey
    negatives: PoolByKey
    positives: PoolByKey
    tone_subjects: PoolByKey
    sms_fillers: Pool
    chatty_sms: Pool
    noisy_calls: Pool
    chit_chat: Pool
    chit_chat_subjects: Pool
    out_of_office: dict[str, Any]
    greetings: Pool
    closings: Pool
    disclaimers: Pool
    mobile_footers: Pool
    signature_phone_labels: Pool
    business_quotes: Pool
    old_value_quotes: PoolByKey
    agent_names: Pool
    stated_email: Pool
    phone_in_body: Pool
    key_leads: Pool
    alt_call_openers: Pool
    alt_phone_owners: Pool
    contact_times: Pool
    voice_openers: Pool
    speech_fillers: Pool
    typos: dict[str, str]
    # Someone quoting another customer's reference, and a customer texting from a new number.
    stranger_asks: Pool
    stranger_named_asks: Pool
    stranger_follow_ups: Pool
    new_phone_openers: Pool


@dataclass(frozen=True)
class Pools:
    """Everything one family's journeys are made from."""

    family: str
    domains: tuple[Domain, ...]
    people: People
    phrases: Phrases


def _frozen(value: Any) -> Any:
    """JSON lists as tuples, all the way down, so pools cannot be changed by accident."""
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    return value


def _read(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {key: _frozen(value) for key, value in raw.items() if not key.startswith("_")}


def _build(cls: type, raw: dict[str, Any], source: Path) -> Any:
    wanted = {f.name for f in fields(cls)}
    if set(raw) != wanted:
        missing, extra = sorted(wanted - set(raw)), sorted(set(raw) - wanted)
        raise ValueError(f"{source}: missing {missing}, unexpected {extra}")
    return cls(**raw)


def _load_phrases(family: str) -> Phrases:
    source = HERE / "phrases" / f"{family}.json"
    raw = _read(source)
    raw["issues"] = {
        domain: tuple(Issue(needle, sentence) for needle, sentence in pairs)
        for domain, pairs in raw["issues"].items()
    }
    phrases: Phrases = _build(Phrases, raw, source)
    return phrases


def _check(pools: Pools) -> None:
    """Catch a family that would write journeys whose needs were never said."""
    phrases = pools.phrases
    for domain in pools.domains:
        if not domain.issues:
            raise ValueError(f"{pools.family}: no issues for {domain.name}")
        for kind in {spec.kind for spec in domain.facts}:
            # A reference is only ever replaced (the key states it first); a unit never is.
            wanted = [] if kind == "reference" else [phrases.fact_states]
            wanted += [] if kind == "unit" else [phrases.fact_updates, phrases.old_value_quotes]
            if any(kind not in pool for pool in wanted):
                raise ValueError(f"{pools.family}: missing phrasings for {kind} facts")
    for kind, templates in [*phrases.fact_states.items(), *phrases.fact_updates.items()]:
        for template in templates:
            names = {n for _lit, n, _spec, _conv in string.Formatter().parse(template) if n}
            needed = {"date", "time"} if kind == "appointment" else {"value"}
            if not needed <= names:
                raise ValueError(f"{pools.family}: {template!r} does not state the {kind}")


@cache
def load_pools(family: str) -> Pools:
    """The domains, people and phrase pools of one family, read once per process."""
    if family not in FAMILIES:
        raise ValueError(f"unknown phrase family {family!r}; choose from {', '.join(FAMILIES)}")
    phrases = _load_phrases(family)
    domains = tuple(
        Domain(
            **{key: value for key, value in raw.items() if key != "facts"},
            issues=phrases.issues.get(raw["name"], ()),
            facts=tuple(FactSpec(**spec) for spec in raw["facts"]),
        )
        for raw in _read(HERE / "domains.json")["domains"]
    )
    people: People = _build(People, _read(HERE / "people.json"), HERE / "people.json")
    pools = Pools(family=family, domains=domains, people=people, phrases=phrases)
    _check(pools)
    return pools
