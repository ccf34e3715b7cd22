"""One journey while it is being written: the customer, what has been said on which identity,
which identities are linked so far, and the writers that turn a statement into an event."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.journeys.pools import Domain, FactSpec, Issue, Phrases, Pools
from bench.journeys.render import (
    Segments,
    as_sms,
    as_speech,
    capitalise_first,
    clock,
    join,
    long_date,
)


@dataclass
class Customer:
    name: str
    phone: str
    email: str
    alt_phone: str | None = None

    @property
    def first(self) -> str:
        return self.name.split()[0]


@dataclass
class Fact:
    """One changeable fact of the journey; `values` are the successive values (each a tuple of
    needles, e.g. date and time)."""

    spec: FactSpec
    values: list[tuple[str, ...]]


@dataclass
class Event:
    payload: dict[str, str]
    identity: str
    tone: str | None
    stated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


@dataclass
class JourneyState:
    pools: Pools
    domain: Domain
    customer: Customer
    key: str
    issue: Issue
    start: dt.datetime
    rng: random.Random
    linked: set[str]
    events: list[Event] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    links: list[tuple[str, str, int]] = field(default_factory=list)
    subject: str = ""
    clock: dt.datetime | None = None
    # The CRM profile names the customer, so a name said on a new channel has a match.
    name_on_file: bool = False

    @property
    def phrases(self) -> Phrases:
        return self.pools.phrases

    def next_time(self) -> dt.datetime:
        step = self.rng.choice(
            (
                dt.timedelta(minutes=self.rng.randint(4, 90)),
                dt.timedelta(hours=self.rng.randint(2, 20), minutes=self.rng.randint(0, 59)),
                dt.timedelta(
                    days=1, hours=self.rng.randint(0, 23), minutes=self.rng.randint(0, 59)
                ),
            )
        )
        self.clock = self.start if self.clock is None else self.clock + step
        return self.clock


def add_event(
    state: JourneyState,
    channel: str,
    identity: str,
    text: str,
    tone: str | None,
    *,
    stated: Sequence[str] = (),
    replaced: Sequence[str] = (),
    subject: str | None = None,
) -> None:
    moment = state.next_time().strftime("%Y-%m-%dT%H:%M:00Z")
    customer, domain = state.customer, state.domain
    if channel == "email":
        payload = {
            "t": moment,
            "channel": "email",
            "from": customer.email,
            "to": domain.email,
            "subject": subject or state.subject,
            "body": text,
        }
    else:
        number = customer.alt_phone if identity == "alt" else customer.phone
        payload = {"t": moment, "channel": channel, "from": number or "", "to": domain.phone}
        payload["speech" if channel == "voice" else "body"] = text
    stated = [*stated, customer.name] if customer.name.lower() in text.lower() else stated
    state.events.append(Event(payload, identity, tone, list(stated), list(replaced)))


def link(state: JourneyState, one: str, other: str) -> None:
    """Record that, from the latest event on, `one` and `other` are known to be one customer."""
    state.links.append((one, other, len(state.events) - 1))
    state.linked.update((one, other))


def connected(state: JourneyState, identity: str, index: int) -> set[str]:
    """The identities a memory could know belong with `identity` right after event `index`."""
    reached = {identity}
    changed = True
    while changed:
        changed = False
        for one, other, at in state.links:
            if at <= index and (one in reached) != (other in reached):
                reached.update((one, other))
                changed = True
    return reached


def name_on_record(state: JourneyState, identity: str) -> bool:
    """Whether the record `identity` belongs to holds the customer's full name before the latest
    event: a full name said on a new channel links it (with a reference) only to a record
    that has that name to match."""
    if state.name_on_file:
        return True
    reached = connected(state, identity, len(state.events) - 2)
    name = state.customer.name
    return any(e.identity in reached and name in e.stated for e in state.events[:-1])


def email_body(
    state: JourneyState,
    paragraphs: Sequence[str],
    *,
    chatter: int = 0,
    quote: str | None = None,
    signature_phone: str | None = None,
    full_signature: bool = False,
) -> tuple[str, bool]:
    """Greeting, paragraphs (optionally buried between chit-chat), sign-off, signature, legal
    footer and an optional quoted earlier business message. Returns the body and whether the
    content sits between chit-chat paragraphs."""
    rng, customer, phrases = state.rng, state.customer, state.phrases
    chat = rng.sample(phrases.chit_chat, k=chatter)
    split = rng.randint(1, chatter - 1) if chatter >= 2 else chatter
    body_parts = [*chat[:split], *paragraphs, *chat[split:]]
    buried = 0 < split < chatter
    greeting = rng.choice(phrases.greetings).format(company=state.domain.company)
    lines = [greeting, "", "\n\n".join(body_parts), "", rng.choice(phrases.closings)]
    signature = customer.name if rng.random() < 0.6 or full_signature else customer.first
    lines.append(signature)
    if rng.random() < 0.4:
        people = state.pools.people
        lines.append(f"{rng.choice(people.job_titles)} | {rng.choice(people.employers)}")
    if signature_phone:
        lines.append(f"{rng.choice(phrases.signature_phone_labels)}: {signature_phone}")
    if rng.random() < 0.25:
        lines += ["", rng.choice(phrases.mobile_footers)]
    if rng.random() < 0.35:
        lines += ["", rng.choice(phrases.disclaimers)]
    if quote is None and state.events and rng.random() < 0.3:
        quote = rng.choice(phrases.business_quotes)
    if quote is not None:
        lines += ["", quoted(state, quote)]
    return "\n".join(lines), buried


def quoted(state: JourneyState, quote: str) -> str:
    """An earlier business reply quoted below the customer's text, in a mail client's style."""
    rng, domain = state.rng, state.domain
    sent = (state.clock or state.start) - dt.timedelta(hours=rng.randint(1, 30))
    sender = f"{domain.company} Support <{domain.email}>"
    agent = rng.choice(state.phrases.agent_names)
    reply = [f"Hi {state.customer.first},", "", quote, "", agent, f"{domain.company} Support"]
    if rng.random() < 0.6:
        header = f"On {sent:%a}, {sent:%b} {sent.day}, {sent.year} at {clock(sent)} {sender} wrote:"
        return header + "\n" + "\n".join(f"> {line}".rstrip() for line in reply)
    rule = rng.choice(("-----Original Message-----", "________________________________"))
    lines = [
        rule,
        f"From: {sender}",
        f"Sent: {long_date(sent)} {clock(sent)}",
        f"To: {state.customer.email}",
        f"Subject: {state.subject}",
    ]
    return "\n".join([*lines, "", *reply])


def say(
    state: JourneyState,
    channel: str,
    identity: str,
    segments: Segments,
    tone: str | None,
    *,
    stated: Sequence[str] = (),
    replaced: Sequence[str] = (),
    quote: str | None = None,
    chatter: int = 0,
    subject: str | None = None,
    signature_phone: str | None = None,
    full_signature: bool = False,
) -> None:
    """Render one customer statement on a channel and record it."""
    rng, phrases = state.rng, state.phrases
    if channel == "sms":
        typo_rate = 0.35 if rng.random() < 0.4 else 0.0
        text, typed = as_sms(rng, segments, typo_rate, phrases.typos)
        if typed:
            state.tags.add("typo")
    elif channel == "voice":
        opener = rng.choice(phrases.voice_openers)
        disfluency = rng.choice((0.0, 0.1, 0.2))
        text = as_speech(rng, [(False, opener), *segments], disfluency, phrases.speech_fillers)
    else:
        text, buried = email_body(
            state,
            [join(capitalise_first(segments))],
            chatter=chatter,
            quote=quote,
            signature_phone=signature_phone,
            full_signature=full_signature,
        )
        if buried:
            state.tags.add("buried_fact")
        if quote is not None and replaced:
            state.tags.add("quoted_old_value")
    add_event(
        state, channel, identity, text, tone, stated=stated, replaced=replaced, subject=subject
    )


def pick_channel(state: JourneyState, allowed: Iterable[str] = ("sms", "email", "voice")) -> str:
    """A channel whose identity is already linked (the primary phone counts for sms and voice)."""
    options = [c for c in allowed if (c == "email" and "email" in state.linked) or c != "email"]
    if "phone" not in state.linked:
        options = [c for c in options if c == "email"]
    return state.rng.choice(options or ["email"])


def identity_of(channel: str) -> str:
    return "email" if channel == "email" else "phone"
