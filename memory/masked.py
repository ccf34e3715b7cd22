"""The tokens redaction leaves in place of a contact detail ("[address-1]", "+1******0101",
"a***@example.com"): recognised so a masked value is never passed on to a customer.
"""

from __future__ import annotations

import re

# The shapes `memory.redaction._shown` produces, with the "#2" a clash of two tokens adds.
MASKED_TOKEN = re.compile(
    r"\[(?:address|card|phone|email)-\d+\](?:#\d+)?"
    r"|\+\d\*{3,}\d{4}(?:#\d+)?"
    r"|(?<![\w.+-])[A-Za-z0-9]\*{3}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:#\d+)?"
)
# A sentence: up to and including its closing punctuation and the space after it.
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)\s*")


def masked_tokens(text: str) -> list[str]:
    """Every redaction token in `text`, in order."""
    return MASKED_TOKEN.findall(text)


def has_masked_token(text: str) -> bool:
    return MASKED_TOKEN.search(text) is not None


def without_masked_sentences(text: str) -> str:
    """`text` without the sentences that carry a redaction token ("" if nothing is left)."""
    kept = [s for s in _SENTENCE.findall(text) if s and not has_masked_token(s)]
    return re.sub(r"\s{2,}", " ", "".join(kept)).strip()
