"""Twilio's webhook fields checked against Twilio's own formats before anything is stored.

A valid signature proves only that Twilio's concatenation of names and values matches, and that
concatenation is ambiguous (`MessageSid=SM..NumMedia0` signs like `MessageSid=SM..` plus
`NumMedia=0`). Holding every identifier to its exact shape closes that replay, and refusing
NUL bytes, over-long values and non-numbers here keeps them from reaching the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.http import HttpResponse, QueryDict

MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}", re.ASCII)
CALL_SID = re.compile(r"CA[0-9a-f]{32}", re.ASCII)
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}", re.ASCII)
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}", re.ASCII)
E164 = re.compile(r"\+[1-9][0-9]{1,14}", re.ASCII)
# A caller who withholds their number arrives as a word (anonymous, restricted, unknown...);
# the voice webhook hands such a call to a person instead of filing it under a customer.
E164_OR_WITHHELD = re.compile(r"\+[1-9][0-9]{1,14}|[A-Za-z]{1,20}", re.ASCII)
STATUS = re.compile(r"[a-z][a-z_-]{0,39}", re.ASCII)
ERROR_CODE = re.compile(r"[0-9]{1,6}", re.ASCII)
CONFIDENCE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,20})?", re.ASCII)
MEDIA_URL = re.compile(r"https?://[^\s\x00]{1,2000}", re.ASCII)
MEDIA_TYPE = re.compile(r"[A-Za-z0-9.+-]{1,60}/[A-Za-z0-9.+-]{1,60}", re.ASCII)

FORMAT_NAMES = {
    MESSAGE_SID: "SM or MM and 32 hex digits",
    CALL_SID: "CA and 32 hex digits",
    ACCOUNT_SID: "AC and 32 hex digits",
    MESSAGING_SERVICE_SID: "MG and 32 hex digits",
    E164: "an E.164 phone number",
    E164_OR_WITHHELD: "an E.164 phone number or a withheld-caller word",
    STATUS: "a status word",
    ERROR_CODE: "a Twilio error code",
    CONFIDENCE: "a decimal number",
    MEDIA_URL: "an http(s) URL",
    MEDIA_TYPE: "a content type",
}

# The largest value each numeric field may carry; anything longer or larger cannot be stored.
MAX_MEDIA = 10
MAX_TURN = 10_000
MAX_DATABASE_ID = 2**63 - 1
MAX_CALL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class FieldRules:
    """What one webhook accepts: required and optional fields by format, and integer fields
    (form or query string) with their inclusive bounds."""

    required: Mapping[str, re.Pattern[str]]
    optional: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    integers: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    query_integers: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def _media_rules() -> dict[str, re.Pattern[str]]:
    rules: dict[str, re.Pattern[str]] = {}
    for n in range(MAX_MEDIA):
        rules[f"MediaUrl{n}"] = MEDIA_URL
        rules[f"MediaContentType{n}"] = MEDIA_TYPE
    return rules


COMMON_OPTIONAL: dict[str, re.Pattern[str]] = {"AccountSid": ACCOUNT_SID}

SMS_INBOUND = FieldRules(
    required={"MessageSid": MESSAGE_SID, "From": E164, "To": E164},
    optional={
        **COMMON_OPTIONAL,
        "SmsSid": MESSAGE_SID,
        "SmsMessageSid": MESSAGE_SID,
        "MessagingServiceSid": MESSAGING_SERVICE_SID,
        **_media_rules(),
    },
    integers={"NumMedia": (0, MAX_MEDIA), "NumSegments": (0, 100)},
)
SMS_STATUS = FieldRules(
    required={"MessageSid": MESSAGE_SID, "MessageStatus": STATUS},
    optional={**COMMON_OPTIONAL, "SmsSid": MESSAGE_SID, "ErrorCode": ERROR_CODE},
    query_integers={"message": (1, MAX_DATABASE_ID)},
)
CALL_INBOUND = FieldRules(
    required={"CallSid": CALL_SID, "From": E164_OR_WITHHELD, "To": E164},
    optional={**COMMON_OPTIONAL, "CallStatus": STATUS},
)
CALL_GATHER = FieldRules(
    required={"CallSid": CALL_SID, "From": E164_OR_WITHHELD, "To": E164},
    optional={**COMMON_OPTIONAL, "CallStatus": STATUS, "Confidence": CONFIDENCE},
    query_integers={"turn": (1, MAX_TURN)},
)
CALL_PICKUP = FieldRules(
    required={"CallSid": CALL_SID},
    optional={**COMMON_OPTIONAL, "CallStatus": STATUS},
    query_integers={"turn": (1, MAX_TURN), "attempt": (0, MAX_TURN)},
)
CALL_STATUS = FieldRules(
    required={"CallSid": CALL_SID, "CallStatus": STATUS},
    optional={**COMMON_OPTIONAL},
    integers={"CallDuration": (0, MAX_CALL_SECONDS)},
)


def bounded_int(raw: str, low: int, high: int) -> int | None:
    """The integer `raw` spells in ASCII digits within [low, high], else None.

    `str.isdigit` is no guard: it accepts "²" and "٣", which `int` refuses or reads otherwise.
    """
    if not raw or len(raw) > len(str(high)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _has_nul(values: QueryDict) -> str | None:
    for name, items in values.lists():
        if "\x00" in name or any("\x00" in item for item in items):
            return name.replace("\x00", "\\0")
    return None


def refusal(*, form: QueryDict, query: QueryDict, rules: FieldRules) -> HttpResponse | None:
    """A 400 naming what the post got wrong (missing, malformed, unstorable), or None."""
    for values in (form, query):
        nul_field = _has_nul(values)
        if nul_field is not None:
            return HttpResponse(f"bad fields: {nul_field} (contains a NUL byte)", status=400)
    absent = [name for name in rules.required if not form.get(name, "").strip()]
    if absent:
        return HttpResponse(f"missing fields: {', '.join(absent)}", status=400)
    problems: list[str] = []
    for name, pattern in {**rules.optional, **rules.required}.items():
        raw = form.get(name)
        if raw is None or (name in rules.optional and raw == ""):
            continue
        if pattern.fullmatch(raw.strip()) is None:
            problems.append(f"{name} (expected {FORMAT_NAMES[pattern]})")
    for values, bounds in ((form, rules.integers), (query, rules.query_integers)):
        for name, (low, high) in bounds.items():
            raw = values.get(name)
            if raw is not None and bounded_int(raw.strip(), low, high) is None:
                problems.append(f"{name} (expected a whole number from {low} to {high})")
    if problems:
        return HttpResponse(f"bad fields: {'; '.join(problems)}", status=400)
    return None
