"""Amounts of money a message states, with their currency: "$49.99", "20 quid", "EUR 15"."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from orchestrator.intelligence.entities.entity import Entity, EntityKind, entity_from_match
from orchestrator.intelligence.spoken import RewrittenText

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
CURRENCY_WORDS = {
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "buck": "USD",
    "dolars": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "cad": "CAD",
    "aud": "AUD",
    "jpy": "JPY",
    "yen": "JPY",
}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?P<symbol>[$€£¥])\s?(?P<a>{_NUMBER})"
    rf"|\b(?P<code>usd|eur|gbp|cad|aud)\s?(?P<b>{_NUMBER})\b"
    rf"|\b(?P<c>{_NUMBER})\s?(?P<word>{'|'.join(sorted(CURRENCY_WORDS, key=len, reverse=True))})\b"
    r"(?:\s+(?:and\s+)?(?P<cents>\d{1,2})\s?cents?\b)?",
    re.IGNORECASE,
)


def amounts(rewritten: RewrittenText) -> list[Entity]:
    """Amounts with a currency symbol, code or word, as "49.99 USD"."""
    found = []
    for match in _AMOUNT.finditer(rewritten.text):
        number = match.group("a") or match.group("b") or match.group("c")
        if match.group("symbol"):
            currency = CURRENCY_SYMBOLS[match.group("symbol")]
        else:
            currency = CURRENCY_WORDS[(match.group("code") or match.group("word")).lower()]
        try:
            amount = Decimal(number.replace(",", ""))
        except InvalidOperation:
            continue
        if match.group("cents"):
            amount += Decimal(match.group("cents")) / 100
        value = f"{amount.quantize(Decimal('0.01'))} {currency}"
        found.append(entity_from_match(rewritten, EntityKind.AMOUNT, "amount", value, match))
    return found
