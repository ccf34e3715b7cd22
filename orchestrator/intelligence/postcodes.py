"""Postcodes a customer states or an address holds (a US ZIP, a UK or Canadian postcode): one of
the pieces of evidence that a caller from an unknown phone is the customer they say they are.
"""

from __future__ import annotations

import re

# A ZIP counts only where it reads as one: after a state ("IL 62704") or named ("zip 62704"),
# so an order number of five digits is never taken for a postcode.
_US_ZIP = re.compile(
    r"(?:\b(?:zip|zip\s*code|postcode|post\s*code|postal\s*code)\s*(?:is|:|#)?\s*"
    r"|\b[A-Z]{2},?\s+)(?P<zip>\d{5})(?:-\d{4})?\b"
)
_NAMED_ZIP = re.compile(_US_ZIP.pattern, re.I)
_UK = re.compile(r"\b(?P<uk>[A-Z]{1,2}\d[A-Z\d]?\s*\d[ABD-HJLNP-UW-Z]{2})\b", re.I)
_CA = re.compile(
    r"\b(?P<ca>[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d)\b", re.I
)


def postcodes_in(text: str) -> frozenset[str]:
    """Every postcode in `text`, upper-case without spaces, so "sw1a 1aa" meets "SW1A 1AA"."""
    found = {m.group("zip") for m in _US_ZIP.finditer(text)}
    found |= {m.group("zip") for m in _NAMED_ZIP.finditer(text) if _named(m.group())}
    for pattern, group in ((_UK, "uk"), (_CA, "ca")):
        for match in pattern.finditer(text):
            code = re.sub(r"\s", "", match.group(group)).upper()
            if re.search(r"[A-Z]", code[-3:]) and not code.isdigit():
                found.add(code)
    return frozenset(found)


def _named(matched: str) -> bool:
    return bool(re.match(r"(?:zip|post)", matched, re.I))
