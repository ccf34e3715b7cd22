"""The beats a journey is built from: an opening, fact statements and updates, follow-ups and
moods, distractors, and the messages that link one identity to another."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from bench.journeys.pools import FactSpec, Pools
from bench.journeys.render import (
    Segments,
    as_sms,
    as_speech,
    capitalise_first,
    compose,
    format_phone_for_text,
    join,
    sentence_case,
    spell_key,
)
from bench.journeys.state import (
    Fact,
    JourneyState,
    add_event,
    email_body,
    identity_of,
    link,
    name_on_record,
    pick_channel,
    say,
)

Beat = Callable[[JourneyState], None]


def beat_opening(channel: str, negative: bool) -> Beat:
    def run(state: JourneyState) -> None:
        rng, domain, phrases = state.rng, state.domain, state.phrases
        templates = phrases.openings["negative" if negative else "neutral"]
        template = rng.choice(templates).replace("{key_label}", domain.key_label)
        segments = capitalise_first(compose(template, key=state.key, issue=state.issue.sentence))
        subject = rng.choice(phrases.opening_subjects).format(
            key=state.key,
            key_label=domain.key_label,
            Key_label=sentence_case(domain.key_label),
            topic=domain.topic,
            Topic=domain.topic.capitalize(),
        )
        state.subject = subject
        say(
            state,
            channel,
            identity_of(channel),
            segments,
            "negative" if negative else "neutral",
            stated=[state.key, state.issue.needle],
            chatter=rng.choice((0, 0, 2)) if channel == "email" else 0,
            subject=subject,
        )
        state.linked.add(identity_of(channel))

    return run


def fact_values(
    spec: FactSpec, rng: random.Random, used: list[str], start: dt.datetime, pools: Pools
) -> tuple[str, ...]:
    """A fresh value for a fact, never a substring of (or containing) a value used before."""
    for _attempt in range(50):
        value = _new_fact_value(spec, rng, start, pools)
        if not any(v in u or u in v for v in value for u in used):
            return value
    raise RuntimeError(f"no fresh value for {spec.kind}")


def _new_fact_value(
    spec: FactSpec, rng: random.Random, start: dt.datetime, pools: Pools
) -> tuple[str, ...]:
    people = pools.people
    match spec.kind:
        case "address":
            number, street = rng.randint(12, 9899), rng.choice(people.streets)
            return (f"{number} {street} {rng.choice(people.street_suffixes)}",)
        case "appointment":
            day = start + dt.timedelta(days=rng.randint(12, 40))
            return (f"{day:%B} {day.day}", rng.choice(people.times))
        case "plan" | "vendor":
            return (rng.choice(spec.values),)
        case "quantity":
            return (f"{rng.randint(11, 96)} {spec.label}",)
        case "member_id":
            return (f"{rng.choice('KMTVXZ')}{rng.randint(100000000, 999999999)}",)
        case "contact_time":
            return (rng.choice(pools.phrases.contact_times),)
        case "unit":
            prefix = rng.choice(people.unit_prefixes)
            return (f"{prefix} {rng.randint(2, 29)}{rng.choice('ABCDEFH')}",)
    raise ValueError(spec.kind)


def fact_segments(fact: Fact, template: str, values: tuple[str, ...], key_label: str) -> Segments:
    spec = fact.spec
    named = {"label": spec.label or key_label, "thing": spec.thing}
    if spec.kind == "appointment":
        return compose(template, date=values[0], time=values[1], **named)
    return compose(template, value=values[0], **named)


def beat_fact(fact: Fact, version: int, *, spoken_ok: bool = True) -> Beat:
    """State (version 0) or replace (version >= 1) a fact's value."""

    def run(state: JourneyState) -> None:
        rng, phrases, key_label = state.rng, state.phrases, state.domain.key_label
        values = fact.values[version]
        old = fact.values[version - 1] if version else ()
        kind = fact.spec.kind
        allowed = ["sms", "email"]
        if spoken_ok and kind in {"address", "plan", "quantity", "vendor", "contact_time"}:
            allowed.append("voice")
        channel = pick_channel(state, allowed)
        if channel == "voice" and kind == "address":
            template = rng.choice(
                phrases.spoken_update_address if version else phrases.spoken_address
            )
        else:
            template = rng.choice((phrases.fact_updates if version else phrases.fact_states)[kind])
        segments = fact_segments(fact, template, values, key_label)
        if kind == "reference":
            state.key = values[0]
            state.subject = phrases.rebooked_subject.format(key=values[0])
        if rng.random() < 0.3 and channel != "voice" and kind != "reference":
            if channel == "email":
                lead = phrases.email_fact_lead.format(key_label=key_label, key=state.key)
                segments = [(False, lead), *segments]
        quote = None
        if version and channel == "email" and rng.random() < 0.7:
            old_template = rng.choice(phrases.old_value_quotes[kind])
            quote = join(fact_segments(fact, old_template, old, key_label))
        chatter = rng.choice((0, 0, 1, 2, 3)) if channel == "email" else 0
        say(
            state,
            channel,
            identity_of(channel),
            segments,
            "neutral",
            stated=list(values),
            replaced=list(old),
            quote=quote,
            chatter=chatter,
        )
        if version:
            state.tags.add("update")

    return run


def beat_tone(tone: str) -> Beat:
    def run(state: JourneyState) -> None:
        rng, phrases = state.rng, state.phrases
        channel = pick_channel(state)
        bank = {
            "negative": phrases.negatives,
            "positive": phrases.positives,
            "neutral": phrases.follow_ups,
        }[tone]
        template = rng.choice(bank[channel])
        segments = compose(template, topic=state.domain.topic)
        if tone != "positive" and channel != "voice" and rng.random() < 0.3:
            segments = [
                (False, f"{sentence_case(state.domain.key_label)} "),
                (True, state.key),
                (False, ". "),
                *capitalise_first(segments),
            ]
        stated = [state.key] if any(text == state.key for _p, text in segments) else []
        subject = None
        if channel == "email":
            # One subject is drawn per mood, whichever is used, so every family draws alike.
            drawn = {
                mood: rng.choice(phrases.tone_subjects[mood])
                for mood in ("negative", "positive", "neutral")
            }
            subject = drawn[tone].format(subject=state.subject)
        say(state, channel, identity_of(channel), segments, tone, stated=stated, subject=subject)

    return run


def beat_distractor(state: JourneyState) -> None:
    rng, phrases = state.rng, state.phrases
    state.tags.add("distractor")
    channel = pick_channel(state)
    if channel == "sms":
        text = rng.choice(phrases.sms_fillers if rng.random() < 0.7 else phrases.chatty_sms)
        add_event(state, "sms", "phone", text, None)
    elif channel == "voice":
        noise = [(False, rng.choice(phrases.noisy_calls))]
        add_event(state, "voice", "phone", as_speech(rng, noise, 0.1, phrases.speech_fillers), None)
    elif rng.random() < 0.5:
        away = phrases.out_of_office
        back = (state.clock or state.start) + dt.timedelta(days=rng.randint(3, 9))
        subject = f"{rng.choice(away['subjects'])}: {state.subject}"
        opening = rng.choice(away["openings"])
        ending = rng.choice(away["endings"])
        body = away["body"].format(
            opening=opening, back=f"{back:%A} {back.day} {back:%B}", ending=ending
        )
        add_event(
            state, "email", "email", f"{body}\n\n{state.customer.name}", None, subject=subject
        )
    else:
        body, _buried = email_body(state, [], chatter=rng.randint(2, 3))
        subject = rng.choice(phrases.chit_chat_subjects)
        add_event(state, "email", "email", body, None, subject=subject)


def beat_stated_email(state: JourneyState) -> None:
    rng, customer = state.rng, state.customer
    template = rng.choice(state.phrases.stated_email)
    segments = compose(template, name=customer.name, email=customer.email)
    text, _typed = as_sms(rng, segments, 0.0, state.phrases.typos)
    add_event(state, "sms", "phone", text, "neutral", stated=[customer.name, customer.email])
    link(state, "phone", "email")
    state.tags.add("linked_by_stated_email")


def beat_phone_in_text(state: JourneyState) -> None:
    rng, phrases = state.rng, state.phrases
    written = format_phone_for_text(state.customer.phone, rng)
    if rng.random() < 0.5:
        follow_up = rng.choice(phrases.follow_ups["email"])
        body, _buried = email_body(state, [follow_up], signature_phone=written)
    else:
        sentence = rng.choice(phrases.phone_in_body).format(phone=written)
        follow_up = rng.choice(phrases.follow_ups["email"])
        body, _buried = email_body(state, [follow_up + " " + sentence])
    add_event(state, "email", "email", body, "neutral", subject=f"Re: {state.subject}")
    link(state, "email", "phone")
    state.tags.add("linked_by_phone_in_text")


def beat_key_on_new_channel(fact: Fact | None) -> Beat:
    """The first message on the not-yet-linked channel repeats the key (and maybe a fact),
    under the customer's full name: a reference alone never links two records (anyone can
    quote one), a name and a reference do, so the link the probes expect is one a careful
    memory may make. An SMS is signed off with the name, an e-mail signed with it. When the
    first channel never heard the full name there is nothing to match it against: the two
    stay apart (a person is asked), and the probes expect no link."""

    def run(state: JourneyState) -> None:
        rng, phrases, key_label = state.rng, state.phrases, state.domain.key_label
        channel = "email" if "email" not in state.linked else "sms"
        lead_template = rng.choice(phrases.key_leads)
        lead = compose(lead_template.replace("{key_label}", key_label), key=state.key)
        stated = [state.key]
        if fact is not None:
            template = rng.choice(phrases.fact_states[fact.spec.kind])
            body = fact_segments(fact, template, fact.values[0], key_label)
            stated += list(fact.values[0])
        else:
            body = compose(rng.choice(phrases.follow_ups["sms"]))
        segments = [*lead, *body]
        if channel == "email":
            segments = capitalise_first(segments)
        else:
            segments += [(False, " - "), (True, state.customer.name)]
        say(
            state,
            channel,
            identity_of(channel),
            segments,
            "neutral",
            stated=stated,
            subject=f"{sentence_case(key_label)} {state.key}",
            full_signature=True,
        )
        first = state.events[0].identity
        if name_on_record(state, first):
            link(state, identity_of(channel), first)
            state.tags.add("linked_by_key")
            if fact is not None:
                state.tags.add("linked_by_key_on_first_use")

    return run


def beat_alt_call(first: bool) -> Beat:
    def run(state: JourneyState) -> None:
        rng, customer, phrases = state.rng, state.customer, state.phrases
        state.tags.add("alt_phone_call")
        if first:
            spelled = rng.random() < 0.75
            key = spell_key(state.key, rng) if spelled else state.key
            if spelled:
                state.tags.add("key_spelled_out_on_call")
            template = rng.choice(phrases.alt_call_openers)
            segments = compose(
                template,
                name=customer.name.lower(),
                owner=rng.choice(phrases.alt_phone_owners),
                key_label=state.domain.key_label,
                key=key,
            )
            stated = [customer.name] + ([] if spelled else [state.key])
        else:
            segments = compose(rng.choice(phrases.follow_ups["voice"]), topic=state.domain.topic)
            stated = []
        disfluency = rng.choice((0.1, 0.2))
        text = as_speech(rng, segments, disfluency, phrases.speech_fillers)
        add_event(state, "voice", "alt", text, "neutral", stated=stated)
        if first and name_on_record(state, state.events[0].identity):
            link(state, "alt", state.events[0].identity)

    return run


def beat_new_phone_text(state: JourneyState) -> None:
    """The customer texts from a number Rapport has never seen, giving their name and key."""
    rng, customer, phrases = state.rng, state.customer, state.phrases
    state.tags.add("new_phone_text")
    template = rng.choice(phrases.new_phone_openers)
    segments = compose(
        template, name=customer.name, key_label=state.domain.key_label, key=state.key
    )
    text, _typed = as_sms(rng, capitalise_first(segments), 0.0, phrases.typos)
    add_event(state, "sms", "alt", text, "neutral", stated=[customer.name, state.key])
    link(state, "alt", state.events[0].identity)
