"""How a customer's statement looks on each channel: casual SMS with the odd typo, speech
recognition output, keys read out loud, phone numbers and dates as people write them."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from collections.abc import Mapping, Sequence

Segments = list[tuple[bool, str]]
"""A message in pieces: (True, value) pieces are protected from typos, fillers and casing."""

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def compose(template: str, **values: str) -> Segments:
    """Split a template into literal text and protected values."""
    segments: Segments = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            segments.append((False, literal))
        if name is not None:
            segments.append((True, values[name]))
    return segments


def capitalise_first(segments: Segments) -> Segments:
    """Upper-case the first letter and every literal letter that starts a sentence."""
    if not segments:
        return segments
    protected, text = segments[0]
    capitalised = [(protected, text[:1].upper() + text[1:]), *segments[1:]]
    return [
        (p, t if p else re.sub(r"([.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), t))
        for p, t in capitalised
    ]


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def join(segments: Segments) -> str:
    return "".join(text for _protected, text in segments)


def as_sms(
    rng: random.Random, segments: Segments, typo_rate: float, typos: Mapping[str, str]
) -> tuple[str, bool]:
    """Casual SMS text: lower-case start, no final full stop, and the odd typo."""
    typed = False
    pieces: list[str] = []
    for protected, text in segments:
        if protected:
            pieces.append(text)
            continue

        def swap(match: re.Match[str]) -> str:
            nonlocal typed
            word = match.group(0)
            if word.lower() in typos and rng.random() < typo_rate:
                typed = True
                return typos[word.lower()]
            return word

        pieces.append(re.sub(r"[A-Za-z]+", swap, text))
    body = "".join(pieces).strip()
    if body.endswith(".") and rng.random() < 0.7:
        body = body[:-1]
    if body and not segments[0][0] and rng.random() < 0.6:
        body = body[0].lower() + body[1:]
    return body, typed


def as_speech(
    rng: random.Random, segments: Segments, disfluency: float, fillers: Sequence[str]
) -> str:
    """What speech recognition returns: lower case, no punctuation, fillers and repeats."""
    words: list[str] = []
    for protected, text in segments:
        if protected:
            words.append(text.lower())
            continue
        for word in re.sub(r"[^\w\s']", " ", text.lower()).split():
            if rng.random() < disfluency:
                words.append(rng.choice(fillers))
            words.append(word)
            if rng.random() < disfluency / 3:
                words.append(word)
    return " ".join(words)


def spell_key(key: str, rng: random.Random) -> str:
    """A reference key as a caller reads it out: digits as words, letters one by one."""
    if re.fullmatch(r"[a-z]+-[a-z]+-\d+", key):
        first, second, number = key.split("-")
        digits = " ".join(DIGIT_WORDS[int(d)] for d in number) if rng.random() < 0.5 else number
        return f"{first} {second} {digits}"
    spoken: list[str] = []
    for char in key:
        if char.isdigit():
            spoken.append("oh" if char == "0" and rng.random() < 0.3 else DIGIT_WORDS[int(char)])
        elif char.isalpha():
            spoken.append(char.lower())
    return " ".join(spoken)


def format_phone_for_text(phone: str, rng: random.Random) -> str:
    area, prefix, line = phone[2:5], phone[5:8], phone[8:]
    return rng.choice(
        (
            f"({area}) {prefix}-{line}",
            f"{area}.{prefix}.{line}",
            f"{area}-{prefix}-{line}",
            f"+1 {area} {prefix} {line}",
            f"{area} {prefix} {line}",
        )
    )


def long_date(moment: dt.datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


def clock(moment: dt.datetime) -> str:
    return f"{moment:%I:%M %p}".lstrip("0")


def fold(text: str) -> str:
    return " ".join(text.lower().split())
