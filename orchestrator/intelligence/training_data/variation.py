"""Rules that turn one hand-written phrasing into the ways customers actually send it:
lower-case SMS, abbreviations, a typo, spoken fillers, filled-in references. Deterministic,
so the same release always trains the same model.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

SLOT_VALUES = {
    "order": ("88123", "#A-55123", "4471-22", "ORD-20931", "77120", "number 55012"),
    "claim": ("CLM-20931", "77812", "C-4410"),
    "date": ("tomorrow", "next friday", "on monday", "Nov 28", "12/3", "this weekend"),
    "amount": ("$49.99", "120 euros", "$15", "thirty dollars", "$230.50"),
    "address": ("42 Oak Street", "1200 N Main St Apt 4", "9 elm rd", "77 Harbor Blvd"),
    "email": ("ana.ruiz@example.com", "jo@mail.example.org", "sam_lee@example.net"),
    "phone": ("415-555-0199", "(212) 555 0147", "+44 20 7946 0958"),
}
ABBREVIATIONS = {
    "you": "u",
    "your": "ur",
    "please": "pls",
    "thanks": "thx",
    "tomorrow": "tmrw",
    "because": "bc",
    "are": "r",
    "okay": "ok",
    "i'm": "im",
    "don't": "dont",
    "can't": "cant",
    "what's": "whats",
    "haven't": "havent",
}
OPENERS = ("", "", "", "hi ", "hello, ", "hey ", "um ", "uh yeah so ", "ok so ", "sorry, ")
CLOSERS = ("", "", "", " please", " thanks", " asap", "!!", "??", " thank you", " pls help")


def vary(phrasings: Sequence[str], *, count: int, seed: str) -> list[str]:
    """Every phrasing once (slots filled), then varied copies until `count` distinct texts."""
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))  # noqa: S311
    texts = [_fill(phrasing, rng) for phrasing in phrasings]
    seen = set(texts)
    attempts = 0
    while len(texts) < count and attempts < count * 50:
        attempts += 1
        text = _vary_once(_fill(rng.choice(phrasings), rng), rng)
        if text and text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def _fill(phrasing: str, rng: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda slot: rng.choice(SLOT_VALUES[slot.group(1)]), phrasing)


def _vary_once(text: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.35:
        text = _sms(text, rng)
    elif style < 0.55:
        text = _spoken(text, rng)
    text = rng.choice(OPENERS) + text + rng.choice(CLOSERS)
    if rng.random() < 0.4:
        text = _typo(text, rng)
    return " ".join(text.split())


def _sms(text: str, rng: random.Random) -> str:
    words = [ABBREVIATIONS.get(word.lower(), word) for word in text.split()]
    text = " ".join(words).lower()
    return text.rstrip(".?!") if rng.random() < 0.7 else text


def _spoken(text: str, rng: random.Random) -> str:
    filler = rng.choice(("um ", "uh ", "so ", "yeah ", "like "))
    words = re.sub(r"[^\w\s'@.-]", "", text).lower().split()
    if len(words) > 3:
        position = rng.randrange(1, len(words))
        words.insert(position, filler.strip())
    return " ".join(words)


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the thumb: two letters swapped, one dropped or one doubled."""
    words = text.split()
    candidates = [i for i, word in enumerate(words) if len(word) > 4 and word.isalpha()]
    if not candidates:
        return text
    index = rng.choice(candidates)
    word = words[index]
    at = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    elif kind < 0.7:
        word = word[:at] + word[at + 1 :]
    else:
        word = word[:at] + word[at] + word[at:]
    words[index] = word
    return " ".join(words)
