"""Reading journey files (shared/spec/journeys.md) into one time-ordered stream of events,
and the built-in demo journeys that `simulate --demo` plays.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Event:
    """One inbound contact: what a customer sent on a channel, and when."""

    journey_id: str
    index: int
    at: dt.datetime
    channel: str
    sender: str
    recipient: str
    body: str = ""
    subject: str = ""
    speech: str = ""


def journeys_load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def events_merged(journeys: list[dict[str, Any]]) -> list[Event]:
    """All journeys' events as one stream, ordered by time (ties keep file order)."""
    events = [
        Event(
            journey_id=str(journey.get("id", n)),
            index=i,
            at=dt.datetime.fromisoformat(raw["t"].replace("Z", "+00:00")),
            channel=raw["channel"],
            sender=raw["from"],
            recipient=raw["to"],
            body=raw.get("body", ""),
            subject=raw.get("subject", ""),
            speech=raw.get("speech", ""),
        )
        for n, journey in enumerate(journeys)
        for i, raw in enumerate(journey.get("events", []))
    ]
    # sorted() is stable, so events at the same instant stay in file order.
    return sorted(events, key=lambda event: event.at)


# The built-in demo: a morning at a small online shop, an hour of customer traffic that
# `simulate --demo --over SECONDS` plays back compressed, so a laptop demo keeps flowing for
# minutes (handoffs, channel switches, a caller asking for a person) instead of a burst.
# Each entry: (journey, minute in the hour, channel, sender key, text, e-mail subject).
_DEMO_HOUR: tuple[tuple[str, float, str, str, str, str], ...] = (
    ("lena", 0.5, "sms", "lena", "Morning! Did order 55102 ship yet? Tracking shows nothing", ""),
    (
        "omar",
        2,
        "email",
        "omar",
        "Hello, I was billed for the annual plan but I chose monthly. "
        "Invoice INV-3307. Can you fix it?\n\nOmar",
        "Wrong plan on invoice INV-3307",
    ),
    ("kim", 4, "voice", "kim", "hi I'd like to move my delivery to next Tuesday", ""),
    ("rosa", 6, "sms", "rosa", "the blender I got yesterday is leaking from the base", ""),
    ("lena", 8, "sms", "lena", "ok thanks, can you text me when it leaves the warehouse?", ""),
    ("jonas", 10, "sms", "jonas", "what time do you close on saturdays", ""),
    (
        "tariq",
        12,
        "email",
        "tariq",
        "My login code never arrives by text. Account ACC-9020.",
        "Can't sign in",
    ),
    ("rosa", 14, "sms", "rosa", "second message about this, water everywhere. not happy", ""),
    ("omar", 16, "sms", "omar", "Did you see my email about INV-3307?", ""),
    ("ines", 18, "voice", "ines", "my card got declined twice at checkout, can someone help", ""),
    ("kim", 20, "sms", "kim", "just checking Tuesday works for the delivery", ""),
    ("rosa", 22, "sms", "rosa", "this is ridiculous. get me a real person on the line now", ""),
    (
        "paul",
        24,
        "email",
        "paul",
        "Please cancel subscription SUB-7745 at the end of the month. Thanks, Paul",
        "Cancel SUB-7745",
    ),
    ("jonas", 26, "sms", "jonas", "great, see you then!", ""),
    ("tariq", 28, "voice", "tariq", "I emailed about my login code, can I talk to somebody", ""),
    ("ines", 31, "sms", "ines", "tried another card, same thing. order 55190", ""),
    ("nadia", 33, "sms", "nadia", "parcel arrived a day early, thank you so much!", ""),
    (
        "paul",
        35,
        "email",
        "paul",
        "Re: Cancel SUB-7745 — also please remove my saved card.",
        "Re: Cancel SUB-7745",
    ),
    ("omar", 38, "voice", "omar", "I'm still waiting on the refund for the annual plan", ""),
    ("lena", 41, "sms", "lena", "it says delivered but nothing is here??", ""),
    (
        "emil",
        44,
        "email",
        "emil",
        "Do you ship to Canada? Looking at the 2-slice toaster.",
        "Shipping question",
    ),
    ("lena", 47, "sms", "lena", "this is the third time. I want someone to call me", ""),
    ("kim", 50, "sms", "kim", "thanks, all sorted", ""),
    (
        "nadia",
        53,
        "email",
        "nadia",
        "Could I get a copy of the receipt for order 55177?",
        "Receipt please",
    ),
    ("emil", 56, "sms", "emil", "sent you an email about shipping to canada", ""),
    ("ines", 59, "sms", "ines", "worked with paypal in the end, thanks", ""),
)
_DEMO_PEOPLE = ("lena", "omar", "kim", "rosa", "jonas", "tariq", "ines", "paul", "nadia", "emil")
_DEMO_START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
BUSINESS_NUMBER = "+14155550000"
SUPPORT_EMAIL = "support@shop.example"


def _demo_sender(person: str, channel: str, round_number: int) -> str:
    """A person's phone or e-mail; each later round is new customers with new numbers."""
    n = _DEMO_PEOPLE.index(person)
    if channel == "email":
        tag = f"+r{round_number}" if round_number else ""
        return f"{person}{tag}@example.com"
    # 555-0100 to 555-0199 are reserved for fiction; the seeded customers use the first few.
    return f"+14155550{110 + (round_number * len(_DEMO_PEOPLE) + n) % 90:03d}"


def demo_journeys(round_number: int = 0) -> list[dict[str, Any]]:
    """The demo hour as journeys (shared/spec/journeys.md's shape), one per person."""
    journeys: dict[str, list[dict[str, Any]]] = {}
    for person, minute, channel, sender, text, subject in _DEMO_HOUR:
        at = _DEMO_START + dt.timedelta(minutes=minute)
        event: dict[str, Any] = {
            "t": at.isoformat().replace("+00:00", "Z"),
            "channel": channel,
            "from": _demo_sender(sender, channel, round_number),
            "to": SUPPORT_EMAIL if channel == "email" else BUSINESS_NUMBER,
        }
        if channel == "voice":
            event["speech"] = text
        else:
            event["body"] = text
        if subject:
            event["subject"] = subject
        journeys.setdefault(person, []).append(event)
    return [
        {"id": f"demo-{person}" + (f"-{round_number}" if round_number else ""), "events": events}
        for person, events in journeys.items()
    ]


DEMO_JOURNEYS: list[dict[str, Any]] = demo_journeys()


def events_schedule(events: list[Event], *, over: float = 0.0, rate: float = 0.0) -> list[float]:
    """When to send each event, in seconds after the start: spread over `over` seconds keeping
    the journeys' own gaps (an hour's traffic in six minutes has its quiet and busy spells),
    else `rate` a second, else all at once (0: as fast as the server answers)."""
    if not events:
        return []
    if over > 0:
        first = events[0].at
        length = max((events[-1].at - first).total_seconds(), 1.0)
        return [(event.at - first).total_seconds() / length * over for event in events]
    if rate > 0:
        return [n / rate for n in range(len(events))]
    return [0.0] * len(events)
