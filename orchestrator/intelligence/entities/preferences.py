"""How a customer wants to be contacted: the channel they prefer or avoid, when, and in which
language.
"""

from __future__ import annotations

import re

from orchestrator.intelligence.entities.entity import Entity, EntityKind, entity_from_match
from orchestrator.intelligence.spoken import RewrittenText

_NEGATION = r"(?:don'?t|dont|do not|pls don'?t|please don'?t|never|no|stop|not)"
_CHANNELS = {
    "voice": r"call(?:s|ing)?|ring|phone(?! number)|calls",
    "sms": r"text(?:s|ing)?|txt|sms|texting",
    "email": r"e-?mail(?:s|ing)?",
}
_AVOID = [
    (channel, re.compile(rf"\b{_NEGATION}\s+(?:\w+\s+)?(?:{words})\b", re.IGNORECASE))
    for channel, words in _CHANNELS.items()
]
_PREFER = [
    (
        channel,
        re.compile(
            rf"\b(?:(?:{words})\s+me\b|prefer\s+(?:a\s+)?(?:{words})|(?:{words})\s+(?:is|works)\s+"
            rf"(?:better|best|fine)|(?:{words})\s+only|only\s+(?:{words}))",
            re.IGNORECASE,
        ),
    )
    for channel, words in _CHANNELS.items()
]
_CONTACT_WORDS = re.compile(
    r"\b(?:call|text|txt|reach|contact|ring|phone|email|e-mail|get back|available|free|home)",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(
    r"\b(?:in|speak|habla\w*)\s+(?P<language>spanish|espa[ñn]ol|french|fran[cç]ais|english|"
    r"portuguese|german|chinese|mandarin|vietnamese)\b",
    re.IGNORECASE,
)
LANGUAGE_CODES = {
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "english": "en",
    "portuguese": "pt",
    "german": "de",
    "chinese": "zh",
    "mandarin": "zh",
    "vietnamese": "vi",
}


def preferences(rewritten: RewrittenText, times: list[Entity]) -> list[Entity]:
    """Channels to use or avoid, contact times (the qualified `times`), and languages."""
    text = rewritten.text
    found = []
    avoided: list[tuple[int, int]] = []
    for channel, pattern in _AVOID:
        for match in pattern.finditer(text):
            avoided.append(match.span())
            found.append(
                entity_from_match(rewritten, EntityKind.PREFERENCE, "avoid_channel", channel, match)
            )
    for channel, pattern in _PREFER:
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end in avoided):
                continue
            found.append(
                entity_from_match(
                    rewritten, EntityKind.PREFERENCE, "contact_channel", channel, match
                )
            )
    # Messages are short: "text me. after 5pm is fine" states one preference across two
    # sentences, so any contact word in the message makes a qualified time a contact time.
    # Searched once, not once per time.
    any_contact_word = _CONTACT_WORDS.search(rewritten.original) is not None
    for entity in times:
        if entity.key != "time" or not entity.qualifier:
            continue
        if any_contact_word:
            found.append(
                Entity(
                    kind=EntityKind.PREFERENCE,
                    key="contact_time",
                    value=f"{entity.qualifier} {entity.value}",
                    text=entity.text,
                    start=entity.start,
                    end=entity.end,
                    confidence=0.8,
                    qualifier=entity.qualifier,
                )
            )
    for match in _LANGUAGE.finditer(text):
        code = LANGUAGE_CODES[match.group("language").lower()]
        found.append(entity_from_match(rewritten, EntityKind.PREFERENCE, "language", code, match))
    return found
