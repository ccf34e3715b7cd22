"""How much of a customer's text Rapport keeps and reads: a turn is analysed, masked and handed
to agents up to `RAPPORT_MAX_MESSAGE_CHARS`, kept as it arrived up to a larger cap, and a fact is
a short value. No input, however long, costs more than these caps allow.
"""

from __future__ import annotations

from django.conf import settings

# Said where a text was cut, so a reader knows there was more.
CUT_MARK = " […]"


def analysis_text(text: str, *, limit: int | None = None) -> str:
    """`text` as analysis, masking and agents read it: at most `RAPPORT_MAX_MESSAGE_CHARS`
    characters (plus the cut mark), cut between words so that no e-mail address, card number
    or phone number is left half there to slip past masking."""
    limit = settings.RAPPORT_MAX_MESSAGE_CHARS if limit is None else limit
    if len(text) <= limit:
        return text
    kept = text[:limit]
    if not text[limit].isspace():
        # The word the limit falls in is dropped whole; a single "word" of thousands of
        # characters is nothing anyone wrote, and goes with it.
        kept = kept[: max(kept.rfind(" "), kept.rfind("\n"), kept.rfind("\t"), 0)]
    return (kept.rstrip() + CUT_MARK).lstrip()


def stored_raw_text(text: str) -> str:
    """`text` as it arrived, as stored beside the analysed turn: at most
    `RAPPORT_MAX_RAW_MESSAGE_CHARS` characters."""
    limit = settings.RAPPORT_MAX_RAW_MESSAGE_CHARS
    return text if len(text) <= limit else text[:limit] + CUT_MARK


def fact_value(value: str) -> str:
    """A fact's value, at most `RAPPORT_MAX_FACT_CHARS` characters."""
    return analysis_text(value, limit=settings.RAPPORT_MAX_FACT_CHARS)
