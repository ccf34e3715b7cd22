"""What kinds of value the tagger finds, and how the Schema-Guided Dialogue corpus's slot names
map onto them. The slot names are SGD's schema (CC BY-SA 4.0); only their shape is used
here ("..._date", "origin..."), no value or wording from the corpus."""

from __future__ import annotations

import re

# The kinds, in the words a contact centre uses; each is one fact key.
DATE = "date"
END_DATE = "end date"
TIME = "time"
PLACE = "place"
FROM = "from"
TO = "to"
NAME = "named"
AMOUNT = "amount"
COUNT = "count"
KIND = "type"
KINDS = (DATE, END_DATE, TIME, PLACE, FROM, TO, NAME, AMOUNT, COUNT, KIND)

# The fact key each kind is filed under. The tagger tells where from and where to, or a
# start and an end date, but mistakes one for the other more often than it misses a value:
# filing them together means a changed value never stands beside the one it replaced, and
# the change model tells another place or date from a replacement.
FACT_KEYS = {END_DATE: DATE, FROM: PLACE, TO: PLACE}


def fact_key(kind: str) -> str:
    return FACT_KEYS.get(kind, kind)


# Slot-name shapes of SGD's schema, in order: the first that matches decides.
_SLOT_KINDS: tuple[tuple[str, str], ...] = (
    (r"(return|check_out|dropoff|end)_date", END_DATE),
    (r"date", DATE),
    (r"time", TIME),
    (r"^(origin|from_)|_origin|departure_city|pickup_city|from_city", FROM),
    (r"^(destination|to_|where_to)|_destination|to_city", TO),
    (r"city|location|area|address|airport|station", PLACE),
    (r"amount|price|fare|balance", AMOUNT),
    (r"number_of|count|party_size|_seats|passengers|group_size", COUNT),
    (r"name|title|artist|album|directed_by|starring|song|movie|event|attraction", NAME),
    (r"genre|cuisine|category|type|class", KIND),
)


def slot_kind(slot: str) -> str | None:
    """The kind a corpus slot holds, or None for slots not worth remembering."""
    for pattern, kind in _SLOT_KINDS:
        if re.search(pattern, slot):
            return kind
    return None
