"""Speech transcripts spell numbers and addresses out ("order eight eight one two three",
"ana dot ruiz at example dot com"); this rewrites them as written text, keeping a map from
the rewritten text back to the original so extracted spans still point at what was said.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000}
REPEATS = {"double": 2, "triple": 3}
NUMBER_WORDS = {*UNITS, *TEENS, *TENS, *SCALES, *REPEATS}

_WORD = re.compile(r"[A-Za-z]+|\d+")
# Bounded: a local part of at most seven spoken pieces and a domain of at most five labels (an
# address is at most 64 + 255 characters), so a transcript of "a dot a dot a ..." is not read
# again from every word; an unbounded chain made that quadratic.
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]{1,64}+(?:\s{1,3}(?:dot|underscore|dash)\s{1,3}[a-z0-9]{1,64}+){0,6})"
    r"\s{1,3}(?:at|\(at\)|\[at\])\s{1,3}"
    r"([a-z0-9]{1,63}+(?:\s{1,3}dot\s{1,3}[a-z0-9]{1,63}+){0,4}"
    r"\s{1,3}dot\s{1,3}(?:com|net|org|edu|gov|io|co|us|uk|ca|de|fr))\b",
    re.IGNORECASE,
)
_SPOKEN_SEPARATORS = {"dot": ".", "underscore": "_", "dash": "-"}
# What a speaker says between the words that mean something.
SPEECH_FILLERS = re.compile(r"\b(?:um+|uh+|er+|like|you know|yeah|so|okay|ok)\b[,]?\s*", re.I)


@dataclass(frozen=True)
class RewrittenText:
    """Text with spoken forms written out, and where each rewritten piece came from."""

    text: str
    original: str
    # Sorted (rewritten_start, rewritten_end, original_start, original_end) of each replacement.
    replacements: tuple[tuple[int, int, int, int], ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the rewritten text back to the span of the original it came from."""
        return self._original_offset(start, is_end=False), self._original_offset(end, is_end=True)

    @cached_property
    def replacement_starts(self) -> list[int]:
        """Where each replacement starts in the rewritten text, for bisecting (built once, not
        on every lookup: a transcript of thousands of numbers made that quadratic)."""
        return [piece[0] for piece in self.replacements]

    def is_replaced(self, start: int, end: int) -> bool:
        """Whether any of `start`:`end` of the rewritten text was rewritten from spoken words."""
        index = bisect.bisect_left(self.replacement_starts, end) - 1
        return index >= 0 and self.replacements[index][1] > start

    def _original_offset(self, offset: int, *, is_end: bool) -> int:
        shift = 0
        index = bisect.bisect_right(self.replacement_starts, offset) - 1
        if index >= 0:
            new_start, new_end, old_start, old_end = self.replacements[index]
            if new_start <= offset < new_end or (is_end and offset == new_end):
                return old_end if is_end else old_start
            shift = old_end - new_end
        return offset + shift


def rewrite_spoken(text: str) -> RewrittenText:
    """Write spoken numbers as digits and spoken e-mail addresses as addresses."""
    pieces: list[tuple[int, int, str]] = []
    tokens = list(_WORD.finditer(text))
    index = 0
    while index < len(tokens):
        run_end = index
        if _is_number_word(tokens[index].group(0)):
            run_end += 1
            while run_end < len(tokens) and _continues_number(tokens, run_end, text):
                run_end += 1
        if run_end > index:
            run = tokens[index:run_end]
            digits = _digits_for([token.group(0).lower() for token in run])
            if digits is not None:
                pieces.append((run[0].start(), run[-1].end(), digits))
            index = run_end
        else:
            index += 1
    for match in _SPOKEN_EMAIL.finditer(text):
        if any(start < match.end() and match.start() < end for start, end, _ in pieces):
            continue
        local, domain = (_spoken_address_part(match.group(group)) for group in (1, 2))
        pieces.append((match.start(), match.end(), f"{local}@{domain}"))
    return _apply(text, sorted(pieces))


def _is_number_word(word: str) -> bool:
    return word.lower() in NUMBER_WORDS


def _continues_number(tokens: list[re.Match[str]], position: int, text: str) -> bool:
    """A number word joins the run before it when only spaces, commas or dashes separate them;
    "and" joins only after "hundred" ("one hundred and five").
    """
    word = tokens[position].group(0).lower()
    previous = tokens[position - 1].group(0).lower()
    if word == "and":
        joins = previous == "hundred"
    else:
        joins = word in NUMBER_WORDS
    gap = text[tokens[position - 1].end() : tokens[position].start()]
    return joins and gap.strip(" ,-") == ""


def _spoken_address_part(spoken: str) -> str:
    words = re.findall(r"[a-z0-9]+", spoken, re.IGNORECASE)
    return "".join(_SPOKEN_SEPARATORS.get(word.lower(), word.lower()) for word in words)


def _digits_for(words: list[str]) -> str | None:
    """The digits a run of number words says, or None when it is not a number at all.

    Groups that cannot combine as one cardinal ("eight eight one", "twenty three forty five")
    are read digit group by digit group, as people read out references and phone numbers.
    """
    words = [w for w in words if w != "and"]
    if not words or words in (["one"], ["oh"]) or all(w in REPEATS for w in words):
        return None
    groups: list[int] = []
    current: int | None = None
    last_kind = ""
    repeat = 1
    for word in words:
        if word in REPEATS:
            repeat = REPEATS[word]
            continue
        if word in UNITS:
            value = UNITS[word]
            if current is not None and last_kind in {"tens", "hundred", "thousand"}:
                current += value
            else:
                if current is not None:
                    groups.append(current)
                groups.extend([value] * (repeat - 1))
                current = value
            last_kind = "unit"
        elif word in TEENS:
            if current is not None and last_kind in {"hundred", "thousand"}:
                current += TEENS[word]
            else:
                if current is not None:
                    groups.append(current)
                current = TEENS[word]
            last_kind = "teen"
        elif word in TENS:
            if current is not None and last_kind in {"hundred", "thousand"}:
                current += TENS[word]
            else:
                if current is not None:
                    groups.append(current)
                current = TENS[word]
            last_kind = "tens"
        elif word in SCALES:
            scale = SCALES[word]
            if current is None:
                current = 1
            if scale == 100 and current % 100 < 10 and current >= 1:
                current = (current - current % 100) + (current % 100) * 100
            else:
                current *= scale
            last_kind = "hundred" if scale == 100 else "thousand"
        repeat = 1
    if current is not None:
        groups.append(current)
    if not groups:
        return None
    return "".join(str(group) for group in groups)


def _apply(text: str, pieces: list[tuple[int, int, str]]) -> RewrittenText:
    parts: list[str] = []
    replacements: list[tuple[int, int, int, int]] = []
    cursor = 0
    written = 0
    for start, end, replacement in pieces:
        if start < cursor:
            continue
        parts.append(text[cursor:start])
        written += start - cursor
        replacements.append((written, written + len(replacement), start, end))
        parts.append(replacement)
        written += len(replacement)
        cursor = end
    parts.append(text[cursor:])
    return RewrittenText(text="".join(parts), original=text, replacements=tuple(replacements))
